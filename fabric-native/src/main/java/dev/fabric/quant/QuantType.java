package dev.fabric.quant;

import dev.fabric.gguf.GgmlType;

/**
 * The ggml block formats Fabric quantizes and dequantizes natively (spec: shared/specs/quantization.md, section 2).
 * Each constant names its GGUF tensor type, which holds ggml's type id, the elements per block and the bytes
 * per block.
 */
public enum QuantType {
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

    private final int ggmlTypeId;
    private final int blockSize;
    private final int typeSize;

    QuantType(GgmlType t) {   // the block facts live in one place: GgmlType
        this.ggmlTypeId = t.id();
        this.blockSize = t.blockSize();
        this.typeSize = t.typeSize();
    }

    /** ggml_type id, as written in GGUF tensor infos. */
    public int ggmlTypeId() {
        return ggmlTypeId;
    }

    /** Elements per block. */
    public int blockSize() {
        return blockSize;
    }

    /** Bytes per block. */
    public int typeSize() {
        return typeSize;
    }

    /** Bits per weight, counting the scales. */
    public double bitsPerWeight() {
        return 8.0 * typeSize / blockSize;
    }

    /** Bytes of one row of {@code ncols} elements; {@code ncols} must be a multiple of the block size. */
    public long rowBytes(long ncols) {
        if (ncols <= 0 || ncols % blockSize != 0) {
            throw new IllegalArgumentException(name() + " needs a row length that is a positive multiple of "
                    + blockSize + ", got " + ncols);
        }
        return ncols / blockSize * typeSize;
    }

    /** The GGUF tensor type of this format. */
    public GgmlType ggmlType() {
        return GgmlType.byId(ggmlTypeId);
    }

    /** The kernels for a GGUF tensor type, or null if Fabric has none for it. */
    public static QuantType of(GgmlType type) {
        return fromGgmlTypeId(type.id());
    }

    /** The type with this ggml id, or null if Fabric has no kernel for it. */
    public static QuantType fromGgmlTypeId(int id) {
        for (QuantType t : values()) if (t.ggmlTypeId == id) return t;
        return null;
    }
}
