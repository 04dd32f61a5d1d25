package dev.fabric.gguf;

import java.util.Arrays;
import java.util.Objects;

/**
 * A tensor to write with {@link GgufWriter}: name, shape ({@code ne0} first; its length is the {@code n_dims}
 * written, 1..4) and type. The shape array is copied in and out.
 */
public record TensorSpec(String name, long[] shape, GgmlType type) {
    public TensorSpec {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(type, "type");
        shape = shape.clone();
        if (shape.length < 1 || shape.length > GgufFile.MAX_DIMS)
            throw new IllegalArgumentException(name + ": n_dims " + shape.length + " is not in 1.." + GgufFile.MAX_DIMS);
        type.byteSize(shape);
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    public long byteSize() {
        return type.byteSize(shape);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorSpec t && t.name.equals(name) && Arrays.equals(t.shape, shape) && t.type == type;
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, Arrays.hashCode(shape), type);
    }

    @Override
    public String toString() {
        return name + " " + type + " " + Arrays.toString(shape);
    }
}
