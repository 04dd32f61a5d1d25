package dev.fabric.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import dev.fabric.gguf.GgmlType;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The quantized bytes (and the dequantized floats) must not depend on the thread count (spec 3.4). */
class ThreadIndependenceTest {
    @ParameterizedTest
    @MethodSource("dev.fabric.gguf.GgmlType#quantizableTypes")
    void sameBytesForOneTwoThreeThreads(GgmlType t) {
        int nrows = 37, ncols = 512;
        Random rnd = new Random(11);
        float[] x = new float[nrows * ncols];
        for (int i = 0; i < x.length; i++) x[i] = (float) (rnd.nextGaussian() * (1 + i % 13));
        float[] imatrix = new float[ncols];
        for (int j = 0; j < ncols; j++) imatrix[j] = rnd.nextFloat() * 4;
        for (float[] w : new float[][] {null, imatrix}) {
            byte[] one = Quantizer.quantize(t, x, nrows, ncols, w, 1);
            assertArrayEquals(one, Quantizer.quantize(t, x, nrows, ncols, w, 2), t + " 2 threads");
            assertArrayEquals(one, Quantizer.quantize(t, x, nrows, ncols, w, 3), t + " 3 threads");
            float[] y1 = Quantizer.dequantize(t, one, nrows, ncols, 1);
            assertArrayEquals(y1, Quantizer.dequantize(t, one, nrows, ncols, 3), t + " dequantize 3 threads");
        }
    }

    /** NaN/Inf inputs (which llama-quantize refuses upstream) must still neither crash nor depend on threads. */
    @ParameterizedTest
    @MethodSource("dev.fabric.gguf.GgmlType#quantizableTypes")
    void nonFiniteInputsAreDeterministic(GgmlType t) {
        int nrows = 6, ncols = 256;
        Random rnd = new Random(13);
        float[] x = new float[nrows * ncols];
        for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
        x[3] = Float.NaN;
        x[ncols + 7] = Float.POSITIVE_INFINITY;
        x[2 * ncols + 9] = Float.NEGATIVE_INFINITY;
        x[3 * ncols + 1] = Float.MAX_VALUE;
        x[4 * ncols + 2] = -Float.MAX_VALUE;
        java.util.Arrays.fill(x, 5 * ncols, 6 * ncols, Float.NaN);
        float[] imatrix = new float[ncols];
        java.util.Arrays.fill(imatrix, 1f);
        for (float[] w : new float[][] {null, imatrix}) {
            byte[] one = Quantizer.quantize(t, x, nrows, ncols, w, 1);
            assertArrayEquals(one, Quantizer.quantize(t, x, nrows, ncols, w, 3), t + " 3 threads");
            Quantizer.dequantize(t, one, nrows, ncols, 2);
        }
    }
}
