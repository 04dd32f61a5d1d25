package dev.fabric.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import dev.fabric.backend.cpu.CpuFeatures;
import dev.fabric.gguf.GgmlType;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The native dequantizers against {@link ReferenceDequantizer}, exactly (same bits, or both NaN), on blocks made
 * by quantizing adversarial rows and on arbitrary bytes, including fp16 scales that are NaN, Inf, subnormal or -0.
 */
class DequantizeReferenceTest {
    /** Byte offsets of the fp16 scale fields in one block (spec section 2). */
    private static int[] scaleOffsets(GgmlType t) {
        return switch (t) {
            case Q4_1, Q5_1, Q4_K, Q5_K -> new int[] {0, 2};
            case Q2_K -> new int[] {80, 82};
            case Q3_K -> new int[] {108};
            case Q6_K -> new int[] {208};
            default -> new int[] {0};
        };
    }

    private static final short[] SPECIAL_HALVES = {
        0x7C00, (short) 0xFC00, 0x7E00, 0x7C01, (short) 0xFE37, 0x0001, (short) 0x83FF, (short) 0x8000, 0x7BFF, 0x0000,
    };

    @ParameterizedTest
    @MethodSource("dev.fabric.gguf.GgmlType#quantizableTypes")
    void arbitraryBytesMatchReference(GgmlType t) {
        Random rnd = new Random(0x5eed + t.ordinal());
        int blocks = 96;
        byte[] data = new byte[blocks * t.typeSize()];
        rnd.nextBytes(data);
        int[] offs = scaleOffsets(t);
        // Every special pattern in every scale field, on separate blocks; the rest keep random scales.
        int b = 0;
        for (int off : offs) {
            for (short h : SPECIAL_HALVES) {
                int at = b++ * t.typeSize() + off;
                data[at] = (byte) h;
                data[at + 1] = (byte) (h >> 8);
            }
        }
        compare(t, data, "random bytes");
    }

    @ParameterizedTest
    @MethodSource("dev.fabric.gguf.GgmlType#quantizableTypes")
    void adversarialQuantizedBlocksMatchReference(GgmlType t) {
        int ncols = 512;
        List<float[]> rows = adversarialRows(ncols, new Random(7));
        float[] src = new float[rows.size() * ncols];
        for (int r = 0; r < rows.size(); r++) System.arraycopy(rows.get(r), 0, src, r * ncols, ncols);
        float[] imatrix = new float[ncols];
        for (int j = 0; j < ncols; j++) imatrix[j] = j % 7 == 0 ? 0f : 0.5f + j % 5;
        for (float[] w : new float[][] {null, imatrix}) {
            byte[] q = Quantizer.quantize(t, src, rows.size(), ncols, w, 2);
            compare(t, q, w == null ? "quantized adversarial rows" : "quantized adversarial rows, imatrix");
            float[] y = Quantizer.dequantize(t, q, rows.size(), ncols, 1);
            // +0 or -0: the legacy formats store d = 0/-8 = -0 for an all-zero block, as ggml does.
            for (int j = 0; j < ncols; j++) assertEquals(0f, Math.abs(y[j]), "all-zero row must dequantize to zeros");
        }
    }

    /** Zeros first, then one huge outlier, denormals, negative-only, constant, mixed magnitudes. */
    static List<float[]> adversarialRows(int n, Random rnd) {
        List<float[]> rows = new ArrayList<>();
        rows.add(new float[n]);
        float[] outlier = new float[n];
        for (int j = 0; j < n; j++) outlier[j] = (float) rnd.nextGaussian() * 0.01f;
        outlier[n / 3] = 3.0e4f;
        rows.add(outlier);
        float[] denorm = new float[n];
        for (int j = 0; j < n; j++) denorm[j] = Float.MIN_VALUE * (1 + rnd.nextInt(1 << 20)) * (rnd.nextBoolean() ? 1 : -1);
        rows.add(denorm);
        float[] tiny = new float[n];
        for (int j = 0; j < n; j++) tiny[j] = (float) rnd.nextGaussian() * 1e-6f;
        rows.add(tiny);
        float[] neg = new float[n];
        for (int j = 0; j < n; j++) neg[j] = -Math.abs((float) rnd.nextGaussian()) - 0.5f;
        rows.add(neg);
        float[] pos = new float[n];
        for (int j = 0; j < n; j++) pos[j] = Math.abs((float) rnd.nextGaussian()) + 2f;
        rows.add(pos);
        float[] constant = new float[n];
        java.util.Arrays.fill(constant, 0.3f);
        rows.add(constant);
        float[] constNeg = new float[n];
        java.util.Arrays.fill(constNeg, -1.7e3f);
        rows.add(constNeg);
        float[] mixed = new float[n];
        for (int j = 0; j < n; j++) mixed[j] = (float) (rnd.nextGaussian() * Math.pow(10, rnd.nextInt(9) - 4));
        rows.add(mixed);
        float[] sparse = new float[n];
        for (int j = 0; j < n; j += 37) sparse[j] = (float) rnd.nextGaussian();
        rows.add(sparse);
        return rows;
    }

    /** Compares every dequantize build this CPU can run (scalar, AVX2, AVX-512), then restores the best. */
    private static void compare(GgmlType t, byte[] data, String what) {
        try {
            for (int isa : new int[] {0, CpuFeatures.AVX2, CpuFeatures.AVX2 | CpuFeatures.AVX512}) {
                String variant = Quantizer.useInstructionSets(isa);
                compareOnce(t, data, what + " [" + variant + "]");
            }
        } finally {
            Quantizer.useInstructionSets(-1);
        }
    }

    private static void compareOnce(GgmlType t, byte[] data, String what) {
        float[] expected = ReferenceDequantizer.dequantize(t, data);
        int nblocks = data.length / t.typeSize();
        // One row per 2 blocks, 3 threads: also exercises the row split.
        long ncols = 2L * t.blockSize();
        long nrows = nblocks / 2;
        float[] got = Quantizer.dequantize(t, data, nrows, ncols, 3);
        for (int i = 0; i < got.length; i++) {
            float e = expected[i], g = got[i];
            boolean same = Float.isNaN(e) ? Float.isNaN(g) : Float.floatToRawIntBits(e) == Float.floatToRawIntBits(g);
            if (!same) {
                fail(t + " " + what + ": element " + i + " (block " + i / t.blockSize() + ") expected " + e + " got " + g);
            }
        }
    }
}
