package dev.fabric.quant;

import dev.fabric.gguf.GgmlType;

/**
 * The ggml block formats Fabric quantizes and dequantizes natively (spec: shared/specs/quantization.md, section 2).
 * Each constant carries ggml's type id (the number GGUF tensor infos store), the elements per block and the
 * bytes per block.
 */
public enum QuantType {
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

    private final int ggmlTypeId;
    private final int blockSize;
    private final int typeSize;

    QuantType(int ggmlTypeId, int blockSize, int typeSize) {
        this.ggmlTypeId = ggmlTypeId;
        this.blockSize = blockSize;
        this.typeSize = typeSize;
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
