package dev.fabric.graph;

import dev.fabric.backend.DType;
import dev.fabric.backend.Tensor;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Arrays;

/**
 * A weight of the model: its GGUF name, row-major shape and value; a trainable one is F32 and has a gradient of
 * the same shape, accumulated by every backward pass until {@link #zeroGrad()}. On the CPU backend both are host
 * memory the optimizer can read and write as direct buffers.
 */
public final class Param {
    private final String name;
    private final Tensor value;
    private final Tensor grad;

    Param(String name, Tensor value, Tensor grad) {
        if (grad != null && (value.type() != DType.F32 || !Arrays.equals(value.shape(), grad.shape())))
            throw new IllegalArgumentException("trainable parameter " + name + " must be F32 with a gradient of its shape");
        this.name = name;
        this.value = value;
        this.grad = grad;
    }

    public String name() {
        return name;
    }

    public long[] shape() {
        return value.shape();
    }

    public long numel() {
        return value.numel();
    }

    public boolean trainable() {
        return grad != null;
    }

    public Tensor value() {
        return value;
    }

    /** The gradient tensor (null when frozen). */
    public Tensor grad() {
        return grad;
    }

    /** The values as a direct buffer over the tensor's host memory (CPU backend; F32 parameters only). */
    public FloatBuffer values() {
        return floats(value);
    }

    /** The gradient as a direct buffer over host memory (CPU backend). */
    public FloatBuffer grads() {
        if (grad == null) throw new IllegalStateException(name + " is frozen");
        return floats(grad);
    }

    public void zeroGrad() {
        if (grad != null) {
            FloatBuffer g = grads();
            for (int i = 0; i < g.capacity(); i++) g.put(i, 0f);
        }
    }

    static FloatBuffer floats(Tensor t) {
        if (t.type() != DType.F32) throw new IllegalStateException(t + " is not F32");
        return t.backend().hostBytes(t).order(ByteOrder.nativeOrder()).asFloatBuffer();
    }

    @Override
    public String toString() {
        return name + Arrays.toString(shape()) + (trainable() ? " trainable" : " frozen");
    }
}
