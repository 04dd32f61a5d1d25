package dev.fabric.backend;

/**
 * Element types a backend tensor can hold, named and numbered as ggml's types (GGUF tensor-info ids). Weights
 * keep their stored type, including block-quantized ones (a row is whole blocks: blockSize elements in
 * blockBytes bytes, ggml's layouts); activations are F32; token ids and positions are I32.
 */
public enum DType {
    F32(0, 1, 4),
    F16(1, 1, 2),
    BF16(30, 1, 2),
    I32(26, 1, 4),
    Q4_0(2, 32, 18),
    Q4_1(3, 32, 20),
    Q5_0(6, 32, 22),
    Q5_1(7, 32, 24),
    Q8_0(8, 32, 34),
    Q2_K(10, 256, 84),
    Q3_K(11, 256, 110),
    Q4_K(12, 256, 144),
    Q5_K(13, 256, 176),
    Q6_K(14, 256, 210),
    IQ4_NL(20, 32, 18),
    IQ4_XS(23, 256, 136);

    private final int ggmlId;
    private final int blockSize;
    private final int blockBytes;

    DType(int ggmlId, int blockSize, int blockBytes) {
        this.ggmlId = ggmlId;
        this.blockSize = blockSize;
        this.blockBytes = blockBytes;
    }

    public int ggmlId() {
        return ggmlId;
    }

    /** Elements per block (1 for plain types). */
    public int blockSize() {
        return blockSize;
    }

    /** Bytes per block (per element for plain types). */
    public int blockBytes() {
        return blockBytes;
    }

    public boolean isQuantized() {
        return blockSize > 1;
    }

    /** Bytes of n elements (n a multiple of the block size). */
    public long bytesOf(long n) {
        if (n % blockSize != 0) throw new IllegalArgumentException(n + " elements are not whole " + this + " blocks");
        return n / blockSize * blockBytes;
    }

    /** The type with this ggml id, or null where the engine cannot hold it yet. */
    public static DType ofGgmlId(int id) {
        for (DType t : values()) if (t.ggmlId == id) return t;
        return null;
    }
}
