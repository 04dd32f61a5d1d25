package dev.fabric.gguf;

/**
 * The ggml tensor types a GGUF tensor-info may name (ggml/include/ggml.h {@code enum ggml_type}), each with its
 * block size (elements per block) and type size (bytes per block) as in ggml's type traits (ggml/src/ggml.c,
 * block structs in ggml/src/ggml-common.h). Ids 4, 5, 31-33 and 36-38 were removed from GGUF upstream and are
 * not readable.
 */
public enum GgmlType {
    F32(0, 1, 4),
    F16(1, 1, 2),
    Q4_0(2, 32, 18),
    Q4_1(3, 32, 20),
    Q5_0(6, 32, 22),
    Q5_1(7, 32, 24),
    Q8_0(8, 32, 34),
    Q8_1(9, 32, 36),
    Q2_K(10, 256, 84),
    Q3_K(11, 256, 110),
    Q4_K(12, 256, 144),
    Q5_K(13, 256, 176),
    Q6_K(14, 256, 210),
    Q8_K(15, 256, 292),
    IQ2_XXS(16, 256, 66),
    IQ2_XS(17, 256, 74),
    IQ3_XXS(18, 256, 98),
    IQ1_S(19, 256, 50),
    IQ4_NL(20, 32, 18),
    IQ3_S(21, 256, 110),
    IQ2_S(22, 256, 82),
    IQ4_XS(23, 256, 136),
    I8(24, 1, 1),
    I16(25, 1, 2),
    I32(26, 1, 4),
    I64(27, 1, 8),
    F64(28, 1, 8),
    IQ1_M(29, 256, 56),
    BF16(30, 1, 2),
    TQ1_0(34, 256, 54),
    TQ2_0(35, 256, 66),
    MXFP4(39, 32, 17),
    /** 4 UE4M3 sub-block scales + 32 bytes of E2M1 nibbles per 64 elements (added upstream in 2026). */
    NVFP4(40, 64, 36),
    /** fp16 scale + 1 bit per element, 128 elements (added upstream in 2026). */
    Q1_0(41, 128, 18),
    /** fp16 scale + 2 bits per element, 64 elements (added upstream in 2026). */
    Q2_0(42, 64, 18);

    private static final GgmlType[] BY_ID = new GgmlType[64];

    static {
        for (GgmlType t : values()) BY_ID[t.id] = t;
    }

    private final int id;
    private final int blockSize;
    private final int typeSize;

    GgmlType(int id, int blockSize, int typeSize) {
        this.id = id;
        this.blockSize = blockSize;
        this.typeSize = typeSize;
    }

    /** The id written in GGUF tensor infos. */
    public int id() {
        return id;
    }

    /** Elements per block (1 for plain types). */
    public int blockSize() {
        return blockSize;
    }

    /** Bytes per block. */
    public int typeSize() {
        return typeSize;
    }

    /** True for block-quantized types (block size above 1). */
    public boolean isQuantized() {
        return blockSize > 1;
    }

    /** The type with this id; {@link IllegalArgumentException} naming the id (and why) if there is none. */
    public static GgmlType byId(int id) {
        GgmlType t = id >= 0 && id < BY_ID.length ? BY_ID[id] : null;
        if (t != null) return t;
        String why = switch (id) {
            case 4, 5 -> " (Q4_2/Q4_3, removed from ggml)";
            case 31, 32, 33 -> " (Q4_0_4_4/Q4_0_4_8/Q4_0_8_8, removed from GGUF files: use Q4_0, repacked at load)";
            case 36, 37, 38 -> " (IQ4_NL_4_4/IQ4_NL_4_8/IQ4_NL_8_8, removed from GGUF files: use IQ4_NL)";
            default -> "";
        };
        throw new IllegalArgumentException("unknown ggml type id " + Integer.toUnsignedString(id) + why);
    }

    /**
     * Bytes of one row of {@code ne0} elements. {@link IllegalArgumentException} if {@code ne0} is negative or not a
     * multiple of the block size; {@link ArithmeticException} on overflow.
     */
    public long rowBytes(long ne0) {
        if (ne0 < 0) throw new IllegalArgumentException(name() + ": negative row length " + ne0);
        if (ne0 % blockSize != 0)
            throw new IllegalArgumentException(
                    name() + ": row length " + ne0 + " is not a multiple of the block size " + blockSize);
        return Math.multiplyExact(ne0 / blockSize, (long) typeSize);
    }

    /** Bytes of a tensor of this shape (ne0 first): rowBytes(ne0) times the other dims, overflow-checked. */
    public long byteSize(long[] shape) {
        if (shape.length == 0) throw new IllegalArgumentException(name() + ": a tensor needs at least one dimension");
        long n = rowBytes(shape[0]);
        for (int i = 1; i < shape.length; i++) {
            if (shape[i] < 0) throw new IllegalArgumentException(name() + ": negative dimension " + shape[i]);
            n = Math.multiplyExact(n, shape[i]);
        }
        return n;
    }
}
