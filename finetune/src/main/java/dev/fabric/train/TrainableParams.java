package dev.fabric.train;

import java.nio.FloatBuffer;

/**
 * The trainable tensors of a model as the optimizer sees them: a fixed, ordered list of F32 tensors, each with a
 * value and a gradient of the same size, both direct {@link FloatBuffer}s (absolute indexing from 0, so callers
 * never move their positions). The order is the order every reduction (the gradient norm) and every file
 * (checkpoints) uses, so it must not depend on threads or hash order.
 *
 * <p>Shapes are row-major, outermost first (a LoRA A of rank r over n_in inputs is {@code [r, n_in]}).
 */
public interface TrainableParams {
    int size();

    /** A unique, stable name (checkpoints match tensors by it). */
    String name(int i);

    long[] shape(int i);

    FloatBuffer value(int i);

    FloatBuffer grad(int i);

    /**
     * Whether AdamW's decoupled weight decay applies to tensor {@code i}. Default: yes. Hugging Face's Trainer
     * exempts only biases and norm weights, so every LoRA factor (A and B) is decayed, as PEFT training does.
     */
    default boolean decays(int i) {
        return true;
    }

    /** Element count of tensor {@code i}. */
    default int numel(int i) {
        long n = 1;
        for (long d : shape(i)) n *= d;
        return Math.toIntExact(n);
    }

    /** Sets every gradient to zero. */
    default void zeroGrad() {
        for (int i = 0; i < size(); i++) {
            FloatBuffer g = grad(i);
            for (int j = 0, n = g.capacity(); j < n; j++) g.put(j, 0f);
        }
    }
}
