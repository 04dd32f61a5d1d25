package dev.fabric.backend;

import dev.fabric.gguf.GgmlType;

/**
 * Element types a backend tensor can hold: the engine's handle on the rows of the one type table
 * ({@link GgmlType}) marked {@link GgmlType#engine()}, named and numbered as ggml's types. Every fact (id, block
 * size, type size) is read from the table, and loading this class checks that its constants are exactly the
 * table's engine rows. Weights keep their stored type, including block-quantized ones (a row is whole blocks:
 * blockSize elements in blockBytes bytes, ggml's layouts); activations are F32; token ids and positions are I32.
 */
public enum DType {
    F32(GgmlType.F32),
    F16(GgmlType.F16),
    BF16(GgmlType.BF16),
    I32(GgmlType.I32),
    Q4_0(GgmlType.Q4_0),
    Q4_1(GgmlType.Q4_1),
    Q5_0(GgmlType.Q5_0),
    Q5_1(GgmlType.Q5_1),
    Q8_0(GgmlType.Q8_0),
    Q2_K(GgmlType.Q2_K),
    Q3_K(GgmlType.Q3_K),
    Q4_K(GgmlType.Q4_K),
    Q5_K(GgmlType.Q5_K),
    Q6_K(GgmlType.Q6_K),
    IQ4_NL(GgmlType.IQ4_NL),
    IQ4_XS(GgmlType.IQ4_XS);

    private final GgmlType ggml;
    private final int ggmlId;
    private final int blockSize;
    private final int blockBytes;

    DType(GgmlType t) {   // the block facts live in one place: GgmlType
        this.ggml = t;
        this.ggmlId = t.id();
        this.blockSize = t.blockSize();
        this.blockBytes = t.typeSize();
    }

    static {
        for (GgmlType g : GgmlType.values()) {
            DType d = ofGgmlId(g.id());
            if (g.engine() != (d != null) || (d != null && !d.name().equals(g.name())))
                throw new ExceptionInInitializerError("DType and the GgmlType table disagree on " + g);
        }
    }

    /** This type's row of the type table. */
    public GgmlType ggmlType() {
        return ggml;
    }

    /** The engine type of a table row, or null where the engine cannot hold it ({@link GgmlType#engine()}). */
    public static DType of(GgmlType t) {
        return ofGgmlId(t.id());
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
