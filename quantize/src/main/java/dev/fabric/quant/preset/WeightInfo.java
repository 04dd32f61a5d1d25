package dev.fabric.quant.preset;

import dev.fabric.gguf.GgmlType;
import java.util.Arrays;
import java.util.Objects;

/** An input tensor as the type rules see it: name, shape ({@code ne0} first) and stored type. */
public record WeightInfo(String name, long[] shape, GgmlType type) {
    public WeightInfo {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(type, "type");
        shape = shape.clone();
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    public long ne(int i) {
        return i < shape.length ? shape[i] : 1;
    }

    /** ggml_n_dims: one past the last dimension above 1, at least 1 (trailing 1s do not count). */
    public int effectiveDims() {
        for (int i = shape.length - 1; i > 0; i--) if (shape[i] > 1) return i + 1;
        return 1;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof WeightInfo w && w.name.equals(name) && Arrays.equals(w.shape, shape) && w.type == type;
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
