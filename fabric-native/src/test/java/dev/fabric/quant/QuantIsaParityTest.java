package dev.fabric.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.fabric.backend.cpu.CpuFeatures;
import dev.fabric.gguf.GgmlType;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The k-quant sub-block searches run one sub-block per SIMD lane on AVX2 and AVX-512 (fabric_quant_batch.inc).
 * The scalar solvers are the oracle: every build this CPU can run must give the scalar build's bytes, on random
 * rows and on rows that hit the searches' edge cases (degenerate and all-zero sub-blocks, one-signed sub-blocks,
 * ties, huge/tiny/subnormal/non-finite values, zero importance weights), with and without an imatrix, and for row
 * widths that leave partly filled lane groups.
 */
class QuantIsaParityTest {
    private static final int[] ISAS = {CpuFeatures.AVX2, CpuFeatures.AVX2 | CpuFeatures.AVX512};

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"})
    void everyBuildGivesTheScalarBytes(GgmlType t) {
        Random rnd = new Random(29 + t.ordinal());
        for (int ncols : new int[] {256, 768, 1280}) {
            int nrows = 24;
            float[] x = rows(rnd, nrows, ncols);
            float[] imatrix = new float[ncols];
            for (int j = 0; j < ncols; j++) imatrix[j] = j % 23 == 0 ? 0f : rnd.nextFloat() * (j % 5 == 0 ? 1e3f : 2f);
            for (float[] w : new float[][] {null, imatrix}) {
                String what = t + " ncols=" + ncols + (w == null ? "" : " imatrix");
                try {
                    assertEquals("scalar", Quantizer.useInstructionSets(0));
                    byte[] oracle = Quantizer.quantize(t, x, nrows, ncols, w, 1);
                    for (int isa : ISAS) {
                        String variant = Quantizer.useInstructionSets(isa);
                        assertArrayEquals(oracle, Quantizer.quantize(t, x, nrows, ncols, w, 2), what + " [" + variant + "]");
                    }
                } finally {
                    Quantizer.useInstructionSets(-1);
                }
            }
        }
    }

    /** The F16 decoder feeding the quantizers (F16C on AVX2/AVX-512): the scalar build's bits for every half. */
    @Test
    void everyBuildDecodesEveryHalfToTheSameBits() {
        short[] all = new short[65536 + 5];
        for (int i = 0; i < all.length; i++) all[i] = (short) i;
        try {
            Quantizer.useInstructionSets(0);
            float[] oracle = Quantizer.f16ToF32(all);
            for (int isa : ISAS) {
                String variant = Quantizer.useInstructionSets(isa);
                float[] got = Quantizer.f16ToF32(all);
                for (int i = 0; i < all.length; i++) {
                    assertEquals(Float.floatToRawIntBits(oracle[i]), Float.floatToRawIntBits(got[i]),
                            "half 0x" + Integer.toHexString(all[i] & 0xffff) + " [" + variant + "]");
                }
            }
        } finally {
            Quantizer.useInstructionSets(-1);
        }
    }

    /** Rows of random values and of adversarial patterns, one pattern per row (mixed within some rows). */
    private static float[] rows(Random rnd, int nrows, int ncols) {
        float[] x = new float[nrows * ncols];
        for (int r = 0; r < nrows; r++) {
            int o = r * ncols;
            for (int j = 0; j < ncols; j++) {
                double g = rnd.nextGaussian();
                float v = switch (r % 12) {
                    case 0 -> (float) g;                                               // plain Gaussian
                    case 1 -> (float) (g * Math.pow(10, rnd.nextInt(13) - 6));          // mixed magnitudes
                    case 2 -> (j / 16) % 3 == 0 ? 0f : (float) g;                       // all-zero sub-blocks
                    case 3 -> (j / 16) % 2 == 0 ? 1.25f * (1 + (j / 32) % 3) : (float) g; // constant sub-blocks
                    case 4 -> (float) Math.abs(g) + ((j / 32) % 2 == 0 ? 0f : 3f);      // one-signed (min clip)
                    case 5 -> -(float) Math.abs(g);                                     // all negative
                    case 6 -> (float) (rnd.nextInt(7) - 3) * 0.5f;                      // few levels: many ties
                    case 7 -> (float) (g * 1e-16);                                      // below the zero threshold
                    case 8 -> (float) (g * 1e-40);                                      // subnormal
                    case 9 -> (float) (g * 1e30);                                       // huge
                    case 10 -> j % 97 == 0 ? Float.NaN : j % 89 == 0 ? Float.POSITIVE_INFINITY : (float) g;
                    default -> j % 16 == 5 ? (float) (g * 1e4) : (float) (g * 1e-3);    // one outlier per sub-block
                };
                x[o + j] = v;
            }
        }
        return x;
    }
}
