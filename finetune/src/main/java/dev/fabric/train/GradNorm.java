package dev.fabric.train;

import java.nio.FloatBuffer;

/** The global gradient norm and clipping by it, over all tensors in their fixed order. */
public final class GradNorm {
    private GradNorm() {}

    /**
     * ‖g‖₂ over every gradient element, the squares summed in double, tensor by tensor in index order and element
     * by element, so the value does not depend on threads. Infinite or NaN where any gradient is.
     */
    public static double of(TrainableParams p) {
        double s = 0;
        for (int i = 0; i < p.size(); i++) {
            FloatBuffer g = p.grad(i);
            for (int j = 0, n = g.capacity(); j < n; j++) {
                double x = g.get(j);
                s += x * x;
            }
        }
        return Math.sqrt(s);
    }

    /**
     * The factor PyTorch's {@code clip_grad_norm_} (which Hugging Face's Trainer calls) scales gradients by:
     * min(1, maxNorm / (norm + 1e-6)). The 1e-6 keeps the division finite; above the threshold the clipped norm
     * is maxNorm to within a relative 1e-6/norm.
     */
    public static double clipFactor(double norm, double maxNorm) {
        return Math.min(1.0, maxNorm / (norm + 1e-6));
    }

    /** Multiplies every gradient by {@code factor} (rounded to float once). */
    public static void scale(TrainableParams p, double factor) {
        float f = (float) factor;
        for (int i = 0; i < p.size(); i++) {
            FloatBuffer g = p.grad(i);
            for (int j = 0, n = g.capacity(); j < n; j++) g.put(j, g.get(j) * f);
        }
    }
}
