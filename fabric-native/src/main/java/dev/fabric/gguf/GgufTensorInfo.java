package dev.fabric.gguf;

import java.util.Arrays;
import java.util.Objects;

/**
 * One tensor-info entry of a GGUF file: its name, its shape with {@code ne0} (the contiguous dimension) first and
 * exactly as many dimensions as the file stores ({@code n_dims}), its type, and its offset relative to the start of
 * the data section. The shape array is copied in and out.
 */
public record GgufTensorInfo(String name, long[] shape, GgmlType type, long offset) {
    public GgufTensorInfo {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(type, "type");
        shape = shape.clone();
        if (shape.length < 1 || shape.length > GgufFile.MAX_DIMS)
            throw new IllegalArgumentException(name + ": n_dims " + shape.length + " is not in 1.." + GgufFile.MAX_DIMS);
        if (offset < 0) throw new IllegalArgumentException(name + ": negative offset " + offset);
        type.byteSize(shape); // validates dims, block multiple and overflow
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    /** Size of dimension {@code i}; 1 for i >= nDims (ggml's convention). */
    public long ne(int i) {
        return i < shape.length ? shape[i] : 1;
    }

    public int nDims() {
        return shape.length;
    }

    /** Number of elements (the product of the shape). */
    public long elements() {
        long n = 1;
        for (long d : shape) n = Math.multiplyExact(n, d);
        return n;
    }

    /** Bytes of the tensor's data, without padding. */
    public long byteSize() {
        return type.byteSize(shape);
    }

    public TensorSpec toSpec() {
        return new TensorSpec(name, shape, type);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GgufTensorInfo t && t.name.equals(name) && Arrays.equals(t.shape, shape)
                && t.type == type && t.offset == offset;
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, Arrays.hashCode(shape), type, offset);
    }

    @Override
    public String toString() {
        return name + " " + type + " " + Arrays.toString(shape) + " @" + offset;
    }
}
