package dev.fabric.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class GradNormTest {
    @Test
    void globalNormOverAllTensorsAndClipping() {
        SoftmaxRegression m = new SoftmaxRegression(2, 2, 0);
        TrainableParams p = m.params();
        p.grad(0).put(0, 3f);   // w: 3, 0, 0, 0
        p.grad(1).put(1, 4f);   // b: 0, 4
        assertEquals(5.0, GradNorm.of(p));
        double f = GradNorm.clipFactor(5.0, 1.0);
        assertEquals(1.0 / (5.0 + 1e-6), f, 0);
        assertEquals(1.0, GradNorm.clipFactor(0.5, 1.0));
        GradNorm.scale(p, f);
        assertEquals(1.0, GradNorm.of(p), 1e-6);       // the clipped norm is the threshold (float rounding)
        p.grad(0).put(3, Float.NaN);
        assertTrue(Double.isNaN(GradNorm.of(p)));
        p.grad(0).put(3, Float.POSITIVE_INFINITY);
        assertTrue(Double.isInfinite(GradNorm.of(p)));
    }

    /** The largest float squared does not overflow the double sum, so a finite gradient has a finite norm. */
    @Test
    void hugeFiniteGradientsStayFinite() {
        SoftmaxRegression m = new SoftmaxRegression(2, 2, 0);
        for (int j = 0; j < 4; j++) m.params().grad(0).put(j, Float.MAX_VALUE);
        assertEquals(2.0 * Float.MAX_VALUE, GradNorm.of(m.params()), 1e25);
    }
}
