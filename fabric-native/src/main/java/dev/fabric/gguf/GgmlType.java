package dev.fabric.gguf;

/**
 * The one table of tensor types: every ggml type a GGUF tensor-info may name (ggml/include/ggml.h
 * {@code enum ggml_type}), each with its GGUF id, name, block size (elements per block) and type size (bytes per
 * block) as in ggml's type traits (ggml/src/ggml.c, block structs in ggml/src/ggml-common.h), and what Fabric does
 * with it: {@link #engine()} (a backend tensor can hold it; {@link dev.fabric.backend.DType} is the engine's handle
 * on exactly these rows, checked when DType loads) and {@link #quantizable()} (Fabric's quantizer writes and
 * reads it: {@link dev.fabric.quant.Quantizer}). Ids 4, 5, 31-33 and 36-38 were removed from GGUF upstream and are
 * not readable.
 */
public enum GgmlType {
    F32(0, 1, 4, Flags.ENGINE),
    F16(1, 1, 2, Flags.ENGINE),
    Q4_0(2, 32, 18, Flags.ENGINE | Flags.QUANT),
    Q4_1(3, 32, 20, Flags.ENGINE | Flags.QUANT),
    Q5_0(6, 32, 22, Flags.ENGINE | Flags.QUANT),
    Q5_1(7, 32, 24, Flags.ENGINE | Flags.QUANT),
    Q8_0(8, 32, 34, Flags.ENGINE | Flags.QUANT),
    Q8_1(9, 32, 36, 0),
    Q2_K(10, 256, 84, Flags.ENGINE | Flags.QUANT),
    Q3_K(11, 256, 110, Flags.ENGINE | Flags.QUANT),
    Q4_K(12, 256, 144, Flags.ENGINE | Flags.QUANT),
    Q5_K(13, 256, 176, Flags.ENGINE | Flags.QUANT),
    Q6_K(14, 256, 210, Flags.ENGINE | Flags.QUANT),
    Q8_K(15, 256, 292, 0),
    IQ2_XXS(16, 256, 66, 0),
    IQ2_XS(17, 256, 74, 0),
    IQ3_XXS(18, 256, 98, 0),
    IQ1_S(19, 256, 50, 0),
    IQ4_NL(20, 32, 18, Flags.ENGINE | Flags.QUANT),
    IQ3_S(21, 256, 110, 0),
    IQ2_S(22, 256, 82, 0),
    IQ4_XS(23, 256, 136, Flags.ENGINE | Flags.QUANT),
    I8(24, 1, 1, 0),
    I16(25, 1, 2, 0),
    I32(26, 1, 4, Flags.ENGINE),
    I64(27, 1, 8, 0),
    F64(28, 1, 8, 0),
    IQ1_M(29, 256, 56, 0),
    BF16(30, 1, 2, Flags.ENGINE),
    TQ1_0(34, 256, 54, 0),
    TQ2_0(35, 256, 66, 0),
    MXFP4(39, 32, 17, 0),
    /** 4 UE4M3 sub-block scales + 32 bytes of E2M1 nibbles per 64 elements (added upstream in 2026). */
    NVFP4(40, 64, 36, 0),
    /** fp16 scale + 1 bit per element, 128 elements (added upstream in 2026). */
    Q1_0(41, 128, 18, 0),
    /** fp16 scale + 2 bits per element, 64 elements (added upstream in 2026). */
    Q2_0(42, 64, 18, 0);

    private static final GgmlType[] BY_ID = new GgmlType[64];

    static {
        for (GgmlType t : values()) BY_ID[t.id] = t;
    }

    private final int id;
    private final int blockSize;
    private final int typeSize;
    private final int flags;

    GgmlType(int id, int blockSize, int typeSize, int flags) {
        this.id = id;
        this.blockSize = blockSize;
        this.typeSize = typeSize;
        this.flags = flags;
    }

    /** A backend tensor can hold this type ({@link dev.fabric.backend.DType} has a constant for it). */
    public boolean engine() {
        return (flags & Flags.ENGINE) != 0;
    }

    /** Fabric's quantizer writes this block type and its dequantizer reads it (byte-identical to llama-quantize). */
    public boolean quantizable() {
        return (flags & Flags.QUANT) != 0;
    }

    /** Every type Fabric quantizes, in table order. */
    public static java.util.List<GgmlType> quantizableTypes() {
        return java.util.Arrays.stream(values()).filter(GgmlType::quantizable).toList();
    }

    /** Bits per weight, counting the scales. */
    public double bitsPerWeight() {
        return 8.0 * typeSize / blockSize;
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

    /** Column bits of the table (a nested class: enum constants cannot read the enum's own static fields). */
    private static final class Flags {
        static final int ENGINE = 1, QUANT = 2;
    }
}
