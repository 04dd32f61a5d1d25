package dev.fabric.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.FloatBuffer;
import org.junit.jupiter.api.Test;

class AdamWTest {
    /** Two tensors of random values, the second exempt from weight decay. */
    private static final class Two implements TrainableParams {
        final FloatBuffer[] v = {SoftmaxRegression.buf(37), SoftmaxRegression.buf(5)};
        final FloatBuffer[] g = {SoftmaxRegression.buf(37), SoftmaxRegression.buf(5)};

        public int size() {
            return 2;
        }

        public String name(int i) {
            return "t" + i;
        }

        public long[] shape(int i) {
            return new long[] {v[i].capacity()};
        }

        public FloatBuffer value(int i) {
            return v[i];
        }

        public FloatBuffer grad(int i) {
            return g[i];
        }

        public boolean decays(int i) {
            return i == 0;
        }
    }

    /**
     * 30 updates at a varying learning rate against training.md's formulas evaluated in double. Tolerance 2e-5
     * absolute: the implementation rounds θ, m and v to float32 at each of ~4 operations per update (half an ulp of
     * |θ| ≤ 4 is 2.4e-7), so 30 updates may drift by at most ~3e-5 in the worst case, ~1e-6 in practice; a wrong
     * formula (bias correction, ε inside the root, coupled decay) is off by 1e-3 or more at these rates.
     */
    @Test
    void matchesDoubleReferenceOfTheFormula() {
        AdamW.Config c = new AdamW.Config(0.9, 0.999, 1e-8, 0.1);
        Two p = new Two();
        Rng r = new Rng(42);
        double[][] th = new double[2][], m = new double[2][], v = new double[2][];
        for (int i = 0; i < 2; i++) {
            int n = p.v[i].capacity();
            th[i] = new double[n];
            m[i] = new double[n];
            v[i] = new double[n];
            for (int j = 0; j < n; j++) {
                float x = (float) (4 * r.nextDouble() - 2);
                p.v[i].put(j, x);
                th[i][j] = x;
            }
        }
        AdamW opt = new AdamW(c, p);
        for (int t = 1; t <= 30; t++) {
            double lr = 0.01 * (1 + Math.sin(t));   // any positive schedule
            for (int i = 0; i < 2; i++)
                for (int j = 0; j < th[i].length; j++) p.g[i].put(j, (float) (r.nextDouble() - 0.5 + 0.3 * th[i][j]));
            opt.step(p, lr);
            for (int i = 0; i < 2; i++) {
                double lambda = i == 0 ? c.weightDecay() : 0;
                for (int j = 0; j < th[i].length; j++) {
                    double g = p.g[i].get(j);
                    th[i][j] *= 1 - lr * lambda;
                    m[i][j] = c.beta1() * m[i][j] + (1 - c.beta1()) * g;
                    v[i][j] = c.beta2() * v[i][j] + (1 - c.beta2()) * g * g;
                    double mh = m[i][j] / (1 - Math.pow(c.beta1(), t));
                    double vh = v[i][j] / (1 - Math.pow(c.beta2(), t));
                    th[i][j] -= lr * mh / (Math.sqrt(vh) + c.eps());
                }
            }
        }
        assertEquals(30, opt.steps());
        double maxDiff = 0;
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < th[i].length; j++) {
                maxDiff = Math.max(maxDiff, Math.abs(p.v[i].get(j) - th[i][j]));
                assertEquals(m[i][j], opt.m(i).get(j), 1e-6 + 1e-5 * Math.abs(m[i][j]), "m");
                assertEquals(v[i][j], opt.v(i).get(j), 1e-9 + 1e-5 * v[i][j], "v");
            }
        assertTrue(maxDiff < 2e-5, "max |θ − reference| = " + maxDiff);
    }

    /** With a zero gradient only the decoupled decay moves θ, on the tensors that decay. */
    @Test
    void decayIsDecoupledAndOnlyWhereItBelongs() {
        Two p = new Two();
        p.v[0].put(0, 2f);
        p.v[1].put(0, 2f);
        AdamW opt = new AdamW(new AdamW.Config(0.9, 0.999, 1e-8, 0.5), p);
        opt.step(p, 0.1);
        assertEquals(2f * (float) (1 - 0.1 * 0.5), p.v[0].get(0), 0f);
        assertEquals(2f, p.v[1].get(0), 0f);
    }

    /** First update of Adam moves each element by lr·sign(g) (m̂ = g, v̂ = g², up to ε). */
    @Test
    void firstUpdateIsLrTimesSign() {
        Two p = new Two();
        p.g[0].put(3, 5f);
        p.g[0].put(4, -1e-3f);
        new AdamW(new AdamW.Config(0.9, 0.999, 1e-8, 0), p).step(p, 0.01);
        assertEquals(-0.01f, p.v[0].get(3), 1e-8f);
        assertEquals(0.01f, p.v[0].get(4), 1e-6f);   // ε/|g| = 1e-5 relative
    }
}
