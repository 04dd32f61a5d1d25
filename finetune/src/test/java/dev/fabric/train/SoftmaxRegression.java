package dev.fabric.train;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.List;

/**
 * A small pure-Java {@link StepModel} for the trainer's tests: softmax regression (logits = W x + b over C classes)
 * with the cross-entropy of each example as one "target token", and its analytic gradient (dlogits = softmax −
 * onehot). An optional input dropout draws its mask from the per-micro-batch seed, so checkpoint tests see whether
 * the trainer's generator is restored. A batch whose {@code poison} flag is set returns a NaN loss and NaN
 * gradients, as an overflowing real model would.
 */
final class SoftmaxRegression implements StepModel<SoftmaxRegression.Batch> {
    record Example(float[] x, int y) {}

    record Batch(List<Example> examples, boolean poison) {}

    private final int classes;
    private final int dims;
    private final double dropout;
    private final Params params;

    SoftmaxRegression(int classes, int dims, double dropout) {
        this.classes = classes;
        this.dims = dims;
        this.dropout = dropout;
        this.params = new Params();
    }

    final class Params implements TrainableParams {
        final FloatBuffer w = buf(classes * dims), gw = buf(classes * dims), b = buf(classes), gb = buf(classes);

        @Override
        public int size() {
            return 2;
        }

        @Override
        public String name(int i) {
            return i == 0 ? "w" : "b";
        }

        @Override
        public long[] shape(int i) {
            return i == 0 ? new long[] {classes, dims} : new long[] {classes};
        }

        @Override
        public FloatBuffer value(int i) {
            return i == 0 ? w : b;
        }

        @Override
        public FloatBuffer grad(int i) {
            return i == 0 ? gw : gb;
        }

        @Override
        public boolean decays(int i) {
            return i == 0;   // no decay on the bias, as Hugging Face's Trainer does
        }
    }

    static FloatBuffer buf(int n) {
        return ByteBuffer.allocateDirect(4 * n).order(ByteOrder.nativeOrder()).asFloatBuffer();
    }

    @Override
    public Params params() {
        return params;
    }

    @Override
    public LossSum forwardBackward(Batch batch, long seed) {
        Rng rng = new Rng(seed);
        double sum = 0;
        float[] logits = new float[classes];
        for (Example e : batch.examples()) {
            float[] x = e.x().clone();
            if (dropout > 0) for (int d = 0; d < dims; d++) x[d] = rng.nextDouble() < dropout ? 0f : (float) (x[d] / (1 - dropout));
            double max = Double.NEGATIVE_INFINITY;
            for (int c = 0; c < classes; c++) {
                float z = params.b.get(c);
                for (int d = 0; d < dims; d++) z += params.w.get(c * dims + d) * x[d];
                logits[c] = z;
                max = Math.max(max, z);
            }
            double se = 0;
            for (int c = 0; c < classes; c++) se += Math.exp(logits[c] - max);
            double lse = max + Math.log(se);
            sum += lse - logits[e.y()];
            for (int c = 0; c < classes; c++) {
                float dz = (float) (Math.exp(logits[c] - lse) - (c == e.y() ? 1 : 0));
                if (batch.poison()) dz = Float.NaN;
                params.gb.put(c, params.gb.get(c) + dz);
                for (int d = 0; d < dims; d++) params.gw.put(c * dims + d, params.gw.get(c * dims + d) + dz * x[d]);
            }
        }
        return new LossSum(batch.poison() ? Double.NaN : sum, batch.examples().size());
    }
}
