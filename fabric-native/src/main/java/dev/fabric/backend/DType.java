package dev.fabric.backend;

/**
 * Element types a backend tensor can hold, named and numbered as ggml's types (GGUF tensor-info ids). Weights
 * keep their stored type; activations are F32; token ids and positions are I32.
 */
public enum DType {
    F32(0, 4),
    F16(1, 2),
    BF16(30, 2),
    I32(26, 4);

    private final int ggmlId;
    private final int bytes;

    DType(int ggmlId, int bytes) {
        this.ggmlId = ggmlId;
        this.bytes = bytes;
    }

    public int ggmlId() {
        return ggmlId;
    }

    /** Bytes per element. */
    public int bytes() {
        return bytes;
    }

    /** The type with this ggml id, or null where the engine cannot hold it yet (e.g. quantized types). */
    public static DType ofGgmlId(int id) {
        for (DType t : values()) if (t.ggmlId == id) return t;
        return null;
    }
}
