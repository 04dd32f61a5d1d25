package dev.fabric.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.FloatBuffer;
import org.junit.jupiter.api.Test;

/**
 * One optimizer step of the {@link Trainer} end to end against training.md's formulas in double: two micro-batches
 * of 2 and 5 target tokens whose loss-sum gradients are g1 and g2 give the per-token gradient (g1 + g2) / 7, which
 * is clipped to the global norm c (factor c / (‖g‖ + 1e-6), PyTorch's) and fed to AdamW at the warmup-cosine rate.
 */
class TrainerStepReferenceTest {
    @Test
    void stepMatchesReference() {
        float[] g1 = {3f, -1f, 0.5f}, g2 = {4f, 2f, -6f};
        FloatBuffer v = SoftmaxRegression.buf(3), g = SoftmaxRegression.buf(3);
        float[] init = {0.5f, -0.25f, 1f};
        v.put(0, init);
        TrainableParams p = new TrainableParams() {
            public int size() {
                return 1;
            }

            public String name(int i) {
                return "x";
            }

            public long[] shape(int i) {
                return new long[] {3};
            }

            public FloatBuffer value(int i) {
                return v;
            }

            public FloatBuffer grad(int i) {
                return g;
            }
        };
        StepModel<Integer> model = new StepModel<>() {
            public LossSum forwardBackward(Integer b, long seed) {
                float[] add = b % 2 == 0 ? g1 : g2;
                for (int j = 0; j < 3; j++) g.put(j, g.get(j) + add[j]);
                return new LossSum(b % 2 == 0 ? 1.5 : 4.0, b % 2 == 0 ? 2 : 5);
            }

            public TrainableParams params() {
                return p;
            }
        };
        BatchSource<Integer> data = new BatchSource<>() {
            int i;

            public Integer next() {
                return i++;
            }

            public byte[] state() {
                return new byte[0];
            }

            public void restore(byte[] s) {}
        };
        AdamW.Config ac = new AdamW.Config(0.9, 0.95, 1e-8, 0.1);
        LrSchedule s = new LrSchedule(LrSchedule.Kind.COSINE, 0.01, 1, 10);
        Trainer<Integer> t = new Trainer<>(model, data, new Trainer.Config(10, 2, s, 0.5, ac, 1, 0));

        double[] th = {init[0], init[1], init[2]}, m = new double[3], vv = new double[3];
        for (int step = 1; step <= 3; step++) {
            StepRecord r = t.step();
            assertEquals(5.5 / 7, r.loss(), 1e-15);                  // (1.5 + 4.0) / (2 + 5), not (0.75 + 0.8) / 2
            double[] gr = new double[3];
            double n2 = 0;
            for (int j = 0; j < 3; j++) {
                gr[j] = ((double) g1[j] + g2[j]) / 7;
                n2 += gr[j] * gr[j];
            }
            double norm = Math.sqrt(n2), f = Math.min(1, 0.5 / (norm + 1e-6));
            assertEquals(norm, r.gradNorm(), 1e-6 * norm);
            double lr = 0.01 * (step - 1 < 1 ? 0 : 0.5 * (1 + Math.cos(Math.PI * (step - 2) / 9.0)));
            assertEquals(lr, r.lr(), 1e-15);
            for (int j = 0; j < 3; j++) {
                double gj = gr[j] * f;
                th[j] *= 1 - lr * ac.weightDecay();
                m[j] = ac.beta1() * m[j] + (1 - ac.beta1()) * gj;
                vv[j] = ac.beta2() * vv[j] + (1 - ac.beta2()) * gj * gj;
                th[j] -= lr * (m[j] / (1 - Math.pow(ac.beta1(), step)))
                        / (Math.sqrt(vv[j] / (1 - Math.pow(ac.beta2(), step))) + ac.eps());
            }
            // float32 state: a few ulps of |θ| ≤ 1 per step
            for (int j = 0; j < 3; j++) assertEquals(th[j], v.get(j), 1e-6, "step " + step + " element " + j);
        }
    }
}
