package dev.fabric.quant;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fabric.gguf.GgmlType;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Quantize then dequantize uniform random rows and bound the relative RMS error.
 *
 * <p>Why the bound: a grid of 2^b - 1 steps spanning a block's range 2A (x uniform in [-A, A]) has step
 * 2A/(2^b - 1); rounding to it leaves an error uniform in half a step, RMS = step/sqrt(12), while RMS(x) =
 * A/sqrt(3). Their ratio is exactly 1/(2^b - 1). The searches in the quantizers only lower that, and the fp16
 * super scales and 6-bit sub-scales cost a few percent, hence a 15% margin. b is the bits per level: 8 for Q8_0
 * (levels -127..127), 6 for Q6_K, 5 for Q5_*, 4 for Q4_* and the IQ4 grids (16 non-uniform levels), 3 for Q3_K,
 * 2 for Q2_K. A sign, packing or scale bug gives errors of order 1.
 */
class RoundTripTest {
    private static int bits(GgmlType t) {
        return switch (t) {
            case Q8_0 -> 8;
            case Q6_K -> 6;
            case Q5_0, Q5_1, Q5_K -> 5;
            case Q3_K -> 3;
            case Q2_K -> 2;
            default -> 4;
        };
    }

    @ParameterizedTest
    @MethodSource("dev.fabric.gguf.GgmlType#quantizableTypes")
    void relativeRmsErrorWithinGridBound(GgmlType t) {
        int nrows = 16, ncols = 1024;
        Random rnd = new Random(42);
        float[] x = new float[nrows * ncols];
        for (int i = 0; i < x.length; i++) x[i] = rnd.nextFloat() * 2 - 1;
        float[] imatrix = new float[ncols];
        for (int j = 0; j < ncols; j++) imatrix[j] = (float) Math.exp(rnd.nextGaussian());
        int levels = t == GgmlType.Q8_0 ? 254 : (1 << bits(t)) - 1;
        double bound = 1.15 / levels;
        for (float[] w : new float[][] {null, imatrix}) {
            byte[] q = Quantizer.quantize(t, x, nrows, ncols, w, 2);
            float[] y = Quantizer.dequantize(t, q, nrows, ncols, 2);
            double se = 0, sx = 0;
            for (int i = 0; i < x.length; i++) {
                se += (y[i] - x[i]) * (double) (y[i] - x[i]);
                sx += x[i] * (double) x[i];
            }
            double rel = Math.sqrt(se / sx);
            assertTrue(rel < bound, String.format("%s%s: relative RMS error %.5f >= bound %.5f", t,
                    w == null ? "" : " (imatrix)", rel, bound));
        }
    }

    @ParameterizedTest
    @MethodSource("dev.fabric.gguf.GgmlType#quantizableTypes")
    void adversarialRowsStayFinite(GgmlType t) {
        int ncols = 512;
        var rows = DequantizeReferenceTest.adversarialRows(ncols, new Random(3));
        float[] src = new float[rows.size() * ncols];
        for (int r = 0; r < rows.size(); r++) System.arraycopy(rows.get(r), 0, src, r * ncols, ncols);
        byte[] q = Quantizer.quantize(t, src, rows.size(), ncols, null, 1);
        float[] y = Quantizer.dequantize(t, q, rows.size(), ncols, 1);
        for (int r = 0; r < rows.size(); r++) {
            double amax = 0;
            for (int j = 0; j < ncols; j++) amax = Math.max(amax, Math.abs(src[r * ncols + j]));
            for (int j = 0; j < ncols; j++) {
                float v = y[r * ncols + j];
                // No level exceeds the block's range by more than one grid step of the coarsest type (Q2_K: 1/3).
                assertTrue(Float.isFinite(v) && Math.abs(v) <= amax * 1.34 + 1e-30,
                        t + " row " + r + " col " + j + ": " + v + " vs max |x| " + amax);
            }
        }
    }
}
