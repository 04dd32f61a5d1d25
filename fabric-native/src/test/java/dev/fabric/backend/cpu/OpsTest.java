package dev.fabric.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.fail;

import dev.fabric.backend.DType;
import dev.fabric.backend.RopeLayout;
import dev.fabric.backend.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every op of the CPU backend against {@link NaiveOps} on odd shapes (lengths that are not multiples of the
 * SIMD width, single rows, broadcasts), for every kernel variant this CPU can run (portable, AVX2, AVX-512)
 * and 1 or 3 threads. Tolerances are relative to the sum of magnitudes entering each output
 * (|x|.|w| for a dot product): F32 accumulation of n terms errs by about n * 2^-24 of that, so 1e-5 is loose
 * enough for every length here and tight enough to catch a wrong element, index or rounding step.
 */
class OpsTest {
    private final List<Tensor> open = new ArrayList<>();

    @AfterEach
    void tearDown() {
        open.forEach(Tensor::close);
        open.clear();
        OpsNative.fabric_ops_set_variant(OpsNative.VARIANT_AVX512);
    }

    /** The kernel variants this CPU can run (generic, AVX2, AVX-512). */
    static int[] available() {
        OpsNative.load();
        return java.util.stream.IntStream.rangeClosed(0, OpsNative.fabric_ops_best_variant()).toArray();
    }

    static Stream<Arguments> variants() {
        List<Arguments> a = new ArrayList<>();
        for (int v : available()) for (int threads : new int[] {1, 3}) a.add(Arguments.of(v, threads));
        return a.stream();
    }

    private CpuBackend backend(int variant, int threads) {
        OpsNative.load();
        assertEquals(variant, OpsNative.fabric_ops_set_variant(variant));
        return new CpuBackend(threads);
    }

    private Tensor f32(CpuBackend b, float[] data, long... shape) {
        Tensor t = b.allocate(DType.F32, shape);
        open.add(t);
        b.write(t, data);
        return t;
    }

    private Tensor ints(CpuBackend b, int[] data) {
        Tensor t = b.allocate(DType.I32, data.length);
        open.add(t);
        b.write(t, data);
        return t;
    }

    private Tensor out(CpuBackend b, DType type, long... shape) {
        Tensor t = b.allocate(type, shape);
        open.add(t);
        return t;
    }

    /** A tensor of `type` holding data rounded to that type; `data` is rounded in place to what it holds. */
    private Tensor typed(CpuBackend b, DType type, float[] data, long... shape) {
        Tensor src = f32(b, data, shape);
        if (type == DType.F32) return src;
        Tensor t = out(b, type, shape);
        b.copy(src, t);
        for (int i = 0; i < data.length; i++) data[i] = NaiveOps.roundTo(type.ggmlId(), data[i]);
        return t;
    }

    private static float[] random(Random r, int n, float scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (r.nextGaussian() * scale);
        return a;
    }

    private static void assertClose(String what, double[] want, float[] got, double[] magnitude, double rel) {
        assertEquals(want.length, got.length, what + ": length");
        for (int i = 0; i < want.length; i++) {
            double tol = rel * (magnitude == null ? Math.abs(want[i]) : magnitude[i]) + 1e-30;
            if (!(Math.abs(want[i] - got[i]) <= tol))
                fail(what + ": element " + i + " is " + got[i] + ", reference " + want[i] + " (tolerance " + tol + ")");
        }
    }

    private static double[] abs(float[] a) {
        float[] b = a.clone();
        for (int i = 0; i < b.length; i++) b[i] = Math.abs(b[i]);
        double[] d = new double[b.length];
        for (int i = 0; i < b.length; i++) d[i] = b[i];
        return d;
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 30})
    void convert_roundTrips_asF16AndBf16Round(int ggmlType) {
        CpuBackend b;
        float[] x = {0f, -0f, 1f, 1.0009765625f, 1.00048828125f, 1.00146484375f, 65504f, 65519.99f, 65520f, 1e9f,
            -1e9f, 6.1e-5f, 3.0e-8f, 2.98e-8f, 1e-10f, -5.96e-8f, Float.MIN_VALUE, Float.NaN,
            Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 3.14159f, -2.71828f, 1.00390625f, 1.01171875f};
        Random r = new Random(1);
        float[] data = new float[x.length + 37];
        System.arraycopy(x, 0, data, 0, x.length);
        for (int i = x.length; i < data.length; i++) data[i] = (float) (r.nextGaussian() * Math.pow(10, r.nextInt(12) - 6));
        for (int variant : available()) {
            b = backend(variant, 1);
            DType type = DType.ofGgmlId(ggmlType);
            float[] expect = data.clone();
            Tensor t = typed(b, type, expect, 1, data.length);
            Tensor back = out(b, DType.F32, 1, data.length);
            b.get_rows(t, ints(b, new int[] {0}), back);
            float[] got = b.readFloats(back);
            for (int i = 0; i < data.length; i++)
                if (Float.floatToIntBits(got[i]) != Float.floatToIntBits(expect[i]))
                    fail(type + " variant " + variant + ": " + data[i] + " became " + got[i] + ", expected " + expect[i]);
        }
    }

    static Stream<Arguments> matmulCases() {
        List<Arguments> a = new ArrayList<>();
        int[][] shapes = {{1, 1, 1}, {1, 16, 4}, {3, 7, 5}, {9, 33, 17}, {5, 100, 3}, {70, 48, 21}, {2, 257, 66}};
        for (int type : new int[] {0, 1, 30})
            for (int[] s : shapes)
                for (int variant : available()) a.add(Arguments.of(type, s[0], s[1], s[2], variant));
        return a.stream();
    }

    @ParameterizedTest(name = "type {0} m={1} k={2} n={3} variant={4}")
    @MethodSource("matmulCases")
    void matmul_matchesNaive(int type, int m, int k, int n, int variant) {
        CpuBackend b = backend(variant, 3);
        Random r = new Random(m * 1000 + k * 10 + n);
        float[] x = random(r, m * k, 1f), w = random(r, n * k, 0.5f);
        Tensor wt = typed(b, DType.ofGgmlId(type), w, n, k);
        Tensor y = out(b, DType.F32, m, n);
        b.matmul(f32(b, x, m, k), wt, y);
        double[] want = NaiveOps.matmul(x, m, k, w, n, type);
        double[] mag = NaiveOps.matmul(toAbs(x), m, k, toAbs(w), n, 0);
        assertClose("matmul", want, b.readFloats(y), mag, 1e-5);
    }

    private static float[] toAbs(float[] a) {
        float[] b = new float[a.length];
        for (int i = 0; i < a.length; i++) b[i] = Math.abs(a[i]);
        return b;
    }

    /** Random blocks: scales of a few 1e-2 (as F16), every level pattern possible. */
    private static byte[] randomBlocks(Random r, DType type, int rows, int k) {
        byte[] data = new byte[(int) type.bytesOf((long) rows * k)];
        r.nextBytes(data);
        for (int o = 0; o < data.length; o += type.blockBytes()) {
            short d = Float.floatToFloat16((float) (r.nextGaussian() * 0.02));
            data[o] = (byte) d;
            data[o + 1] = (byte) (d >> 8);
        }
        return data;
    }

    static Stream<Arguments> quantCases() {
        List<Arguments> a = new ArrayList<>();
        for (DType t : new DType[] {DType.Q4_0, DType.Q5_0, DType.Q8_0})
            for (int[] s : new int[][] {{1, 32, 1}, {3, 96, 5}, {9, 64, 17}, {70, 160, 21}})
                a.add(Arguments.of(t, s[0], s[1], s[2]));
        return a.stream();
    }

    @ParameterizedTest(name = "{0} m={1} k={2} n={3}")
    @MethodSource("quantCases")
    void matmul_quantized_matchesNaive(DType type, int m, int k, int n) {
        CpuBackend b = backend(OpsNative.fabric_ops_best_variant(), 3);
        Random r = new Random(m * 7 + k + n);
        float[] x = random(r, m * k, 1f);
        x[0] = 0; // a block with a zero and (below) an all-zero row of x exercise amax edge cases
        if (m > 2) java.util.Arrays.fill(x, k, 2 * k, 0f);
        byte[] w = randomBlocks(r, type, n, k);
        Tensor wt = out(b, type, n, k);
        b.write(wt, w);
        Tensor y = out(b, DType.F32, m, n);
        b.matmul(f32(b, x, m, k), wt, y);
        double[] want = NaiveOps.matmulQuant(x, m, k, w, n, type.ggmlId(), type.blockBytes());
        float[] deq = NaiveOps.dequantize(type.ggmlId(), type.blockBytes(), w, n * k);
        double[] mag = NaiveOps.matmul(toAbs(x), m, k, toAbs(deq), n, 0);
        // per-block scale products and integer sums are exact; the F32 sum over k/32 blocks errs ~1e-7 relative
        assertClose("matmul " + type, want, b.readFloats(y), mag, 1e-5);
        // and the result approximates the float product with x unquantized (8-bit x: ~1% of the magnitude)
        assertClose("matmul " + type + " vs float", NaiveOps.matmul(x, m, k, deq, n, 0), b.readFloats(y), mag, 2e-2);

        Tensor rows = out(b, DType.F32, 2, k);
        b.get_rows(wt, ints(b, new int[] {n - 1, 0}), rows);
        float[] got = b.readFloats(rows);
        for (int j = 0; j < k; j++) {
            assertEquals(deq[(n - 1) * k + j], got[j], 0f, "get_rows " + type);
            assertEquals(deq[j], got[k + j], 0f, "get_rows " + type);
        }
    }

    /** Random K-quant super-blocks: every level, scale and min pattern; F16 super-scales of a few 1e-3. */
    private static byte[] randomKBlocks(Random r, DType type, int rows, int k) {
        byte[] data = new byte[(int) type.bytesOf((long) rows * k)];
        r.nextBytes(data);
        for (int o = 0; o < data.length; o += type.blockBytes()) {
            int[] at = type == DType.Q6_K ? new int[] {o + 208} : new int[] {o, o + 2};
            for (int p : at) {
                short d = Float.floatToFloat16((float) (r.nextGaussian() * 0.003));
                data[p] = (byte) d;
                data[p + 1] = (byte) (d >> 8);
            }
        }
        return data;
    }

    static Stream<Arguments> kquantCases() {
        List<Arguments> a = new ArrayList<>();
        for (DType t : new DType[] {DType.Q4_K, DType.Q5_K, DType.Q6_K})
            for (int[] s : new int[][] {{1, 256, 1}, {3, 512, 5}, {9, 768, 17}, {70, 256, 21}})
                a.add(Arguments.of(t, s[0], s[1], s[2]));
        return a.stream();
    }

    /**
     * K-quants against the naive Q8_K oracle ({@link NaiveKQuants}): integer sums per super-block are exact, so
     * only the F32 scaling and the sum over k/256 super-blocks round (1e-5 of the magnitude). Every kernel
     * variant must give the very same floats (same integers, same float order). Against the float product with
     * x unquantized the Q8_K rounding of x (half a level of 127 per block max) leaves ~1% of the magnitude.
     */
    @ParameterizedTest(name = "{0} m={1} k={2} n={3}")
    @MethodSource("kquantCases")
    void matmul_kquant_matchesNaiveQ8K_andAllVariantsAgree(DType type, int m, int k, int n) {
        Random r = new Random(m * 7 + k + n + type.ggmlId());
        float[] x = random(r, m * k, 1f);
        x[0] = 0;
        if (m > 2) java.util.Arrays.fill(x, k, 2 * k, 0f); // an all-zero Q8_K block: d = 0
        if (m > 3) x[3 * k + 5] = 40f; // a positive maximum maps to -127 (iscale < 0)
        byte[] w = randomKBlocks(r, type, n, k);
        double[] want = NaiveKQuants.matmul(x, m, k, w, n, type.ggmlId());
        float[] deq = NaiveKQuants.dequantize(type.ggmlId(), w, n * k);
        double[] mag = NaiveOps.matmul(toAbs(x), m, k, toAbs(deq), n, 0);
        float[] first = null;
        for (int v : available()) {
            CpuBackend b = backend(v, 3);
            Tensor wt = out(b, type, n, k);
            b.write(wt, w);
            Tensor y = out(b, DType.F32, m, n);
            b.matmul(f32(b, x, m, k), wt, y);
            float[] got = b.readFloats(y);
            assertClose("matmul " + type + " variant " + v, want, got, mag, 1e-5);
            assertClose("matmul " + type + " vs float", NaiveOps.matmul(x, m, k, deq, n, 0), got, mag, 2e-2);
            if (first == null) first = got;
            else org.junit.jupiter.api.Assertions.assertArrayEquals(first, got, "variant " + v + " vs generic");

            Tensor rows = out(b, DType.F32, 2, k);
            b.get_rows(wt, ints(b, new int[] {n - 1, 0}), rows);
            float[] g = b.readFloats(rows);
            for (int j = 0; j < k; j++) {
                assertEquals(deq[(n - 1) * k + j], g[j], 0f, "get_rows " + type);
                assertEquals(deq[j], g[k + j], 0f, "get_rows " + type);
            }
        }
    }

    static Stream<Arguments> kquantGemmCases() {
        List<Arguments> a = new ArrayList<>();
        // m >= 2 takes the AVX-512 VNNI panel GEMM (16 weight rows per panel, 4 panels per task, 8 x rows per
        // kernel call), one row the row dots: n around and past panel and task edges, m in and past the 8-row
        // tail, k of one super-block and of a 3072-wide FFN
        int[][] shapes = {{1, 256, 16}, {2, 256, 5}, {3, 512, 17}, {5, 3072, 17}, {16, 256, 1}, {17, 3072, 15},
            {21, 256, 33}, {40, 512, 70}, {29, 256, 131}};
        for (DType t : new DType[] {DType.Q4_K, DType.Q5_K, DType.Q6_K})
            for (int[] s : shapes) a.add(Arguments.of(t, s[0], s[1], s[2]));
        return a.stream();
    }

    /**
     * The panel GEMM against the same Q8_K oracle, and bit for bit equal to the row dots: every variant (the
     * portable and AVX2 ones always use row dots), 1 or 3 threads, and on the same variant the first row run
     * alone (m = 1, row dots) and the first 5 (m = 5, a GEMM tail). x has ties of |max| with both signs, a positive and a negative maximum, and an
     * all-zero block, the edge cases of the Q8_K rounding (scalar and AVX-512 quantizers must agree).
     */
    @ParameterizedTest(name = "{0} m={1} k={2} n={3}")
    @MethodSource("kquantGemmCases")
    void matmul_kquantGemm_matchesNaive_andRowDots_anyThreads(DType type, int m, int k, int n) {
        Random r = new Random(31L * m + 7L * k + n + type.ggmlId());
        float[] x = random(r, m * k, 1f);
        x[1] = 9f; // a tie of |max| in the first block: the first (positive) one sets the sign
        x[2] = -9f;
        if (m > 1) x[k + 3] = -12f;
        if (m > 2) java.util.Arrays.fill(x, 2 * k, 2 * k + 256, 0f);
        byte[] w = randomKBlocks(r, type, n, k);
        double[] want = NaiveKQuants.matmul(x, m, k, w, n, type.ggmlId());
        float[] deq = NaiveKQuants.dequantize(type.ggmlId(), w, n * k);
        double[] mag = NaiveOps.matmul(toAbs(x), m, k, toAbs(deq), n, 0);
        float[] first = null;
        for (int v : available())
            for (int threads : new int[] {1, 3}) {
                CpuBackend b = backend(v, threads);
                Tensor wt = out(b, type, n, k);
                b.write(wt, w);
                Tensor y = out(b, DType.F32, m, n);
                b.matmul(f32(b, x, m, k), wt, y);
                float[] got = b.readFloats(y);
                assertClose("matmul " + type + " variant " + v, want, got, mag, 1e-5);
                if (first == null) first = got;
                else org.junit.jupiter.api.Assertions.assertArrayEquals(first, got, "variant " + v + " threads " + threads);

                for (int head : new int[] {1, Math.min(m, 5)}) {
                    Tensor yh = out(b, DType.F32, head, n);
                    b.matmul(f32(b, java.util.Arrays.copyOf(x, head * k), head, k), wt, yh);
                    org.junit.jupiter.api.Assertions.assertArrayEquals(java.util.Arrays.copyOf(got, head * n),
                            b.readFloats(yh), "first " + head + " rows alone, variant " + v);
                }
            }
    }

    /**
     * Types read through fabric_quant's dequantizers (tested against llama.cpp in the quantize module): matmul
     * equals the F32 product of x with the rows get_rows returns.
     */
    @ParameterizedTest
    @ValueSource(strings = {"Q4_1", "Q5_1", "Q2_K", "Q3_K", "IQ4_NL", "IQ4_XS"})
    void matmul_dequantFallback_matchesFloatProductOfGetRows(String name) {
        DType type = DType.valueOf(name);
        CpuBackend b = backend(OpsNative.fabric_ops_best_variant(), 3);
        Random r = new Random(name.hashCode());
        int m = 5, k = 512, n = 7;
        float[] x = random(r, m * k, 1f);
        // random bytes with sane F16 scales at each layout's scale offsets (spec section 2)
        int[] halves = switch (type) {
            case Q4_1, Q5_1 -> new int[] {0, 2};
            case Q2_K -> new int[] {80, 82};
            case Q3_K -> new int[] {108};
            default -> new int[] {0};
        };
        byte[] w = new byte[(int) type.bytesOf((long) n * k)];
        r.nextBytes(w);
        for (int o = 0; o < w.length; o += type.blockBytes())
            for (int p : halves) {
                short d = Float.floatToFloat16((float) (r.nextGaussian() * 0.02));
                w[o + p] = (byte) d;
                w[o + p + 1] = (byte) (d >> 8);
            }
        Tensor wt = out(b, type, n, k);
        b.write(wt, w);
        int[] all = java.util.stream.IntStream.range(0, n).toArray();
        Tensor rows = out(b, DType.F32, n, k);
        b.get_rows(wt, ints(b, all), rows);
        float[] deq = b.readFloats(rows);
        for (float v : deq) if (!Float.isFinite(v)) fail(name + ": non-finite dequantized value");
        Tensor y = out(b, DType.F32, m, n);
        b.matmul(f32(b, x, m, k), wt, y);
        assertClose("matmul " + type, NaiveOps.matmul(x, m, k, deq, n, 0), b.readFloats(y),
                NaiveOps.matmul(toAbs(x), m, k, toAbs(deq), n, 0), 1e-5);
    }

    @ParameterizedTest
    @MethodSource("variants")
    void get_rows_matchesNaive(int variant, int threads) {
        CpuBackend b = backend(variant, threads);
        Random r = new Random(2);
        float[] table = random(r, 11 * 13, 1f);
        int[] ids = {3, 0, 10, 3, 7};
        Tensor o = out(b, DType.F32, ids.length, 13);
        b.get_rows(f32(b, table, 11, 13), ints(b, ids), o);
        assertClose("get_rows", toDouble(NaiveOps.get_rows(table, 13, ids)), b.readFloats(o), null, 0);
        assertThrows(IndexOutOfBoundsException.class, () -> b.get_rows(f32(b, table, 11, 13), ints(b, new int[] {11}),
                out(b, DType.F32, 1, 13)));
    }

    private static double[] toDouble(float[] a) {
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) d[i] = a[i];
        return d;
    }

    @ParameterizedTest
    @MethodSource("variants")
    void rms_norm_matchesNaive(int variant, int threads) {
        CpuBackend b = backend(variant, threads);
        Random r = new Random(3);
        for (int[] s : new int[][] {{1, 1}, {3, 7}, {5, 129}}) {
            float[] x = random(r, s[0] * s[1], 3f);
            Tensor y = out(b, DType.F32, s[0], s[1]);
            b.rms_norm(f32(b, x, s[0], s[1]), 1e-5f, y);
            assertClose("rms_norm", NaiveOps.rms_norm(x, s[0], s[1], 1e-5f), b.readFloats(y), null, 1e-6);
        }
    }

    @ParameterizedTest
    @MethodSource("variants")
    void rope_matchesNaive_bothLayouts(int variant, int threads) {
        CpuBackend b = backend(variant, threads);
        Random r = new Random(4);
        int tokens = 5, heads = 3, headDim = 12;
        int[] pos = {0, 1, 7, 30, 2};
        for (RopeLayout layout : RopeLayout.values())
            for (int nRot : new int[] {12, 8}) {
                float[] x = random(r, tokens * heads * headDim, 1f);
                Tensor xt = f32(b, x, tokens, heads, headDim);
                Tensor y = out(b, DType.F32, tokens, heads, headDim);
                b.rope(xt, ints(b, pos), nRot, 10000f, layout, y);
                double[] want = NaiveOps.rope(x, tokens, heads, headDim, nRot, pos, 10000f, layout == RopeLayout.NEOX);
                // angles are built in float by repeated multiplication (as ggml): ~1e-6 relative at these positions
                assertClose("rope " + layout + " nRot " + nRot, want, b.readFloats(y), ones(want.length), 2e-5);
                b.rope(xt, ints(b, pos), nRot, 10000f, layout, xt); // in place
                assertClose("rope in place", want, b.readFloats(xt), ones(want.length), 2e-5);
            }
    }

    private static double[] ones(int n) {
        double[] d = new double[n];
        java.util.Arrays.fill(d, 1);
        return d;
    }

    static Stream<Arguments> attentionCases() {
        List<Arguments> a = new ArrayList<>();
        // nQ, heads, kvHeads, headDim, nKv (q at the end of the cache), cache type
        int[][] shapes = {{1, 1, 1, 1, 1}, {4, 4, 2, 16, 4}, {3, 6, 2, 13, 10}, {7, 8, 8, 40, 7}, {1, 4, 1, 64, 33},
            {5, 8, 2, 128, 20}, {3, 4, 4, 32, 9}};
        for (int[] s : shapes)
            for (DType t : new DType[] {DType.F32, DType.F16})
                for (int variant : available()) a.add(Arguments.of(s, t, variant));
        return a.stream();
    }

    /**
     * The grouped F16-cache attention kernels (several heads of a GQA group per call, three passes) against the
     * one-row path of the same variant: the same operations in the same order, so the same bits.
     */
    @ParameterizedTest
    @MethodSource("variants")
    void attention_groupedEqualsRowwise(int variant, int threads) {
        // nQ, heads, kvHeads, headDim, nKv: groups of 1 to 4, head sizes the grouped kernels take and others
        int[][] shapes = {{1, 1, 1, 32, 1}, {4, 4, 2, 16, 4}, {9, 16, 8, 128, 40}, {8, 3, 1, 128, 8},
            {17, 4, 1, 64, 70}, {33, 4, 2, 128, 33}, {6, 8, 2, 96, 30}, {3, 6, 2, 13, 10}};
        CpuBackend b = backend(variant, threads);
        try {
            for (int[] s : shapes) {
                int nQ = s[0], heads = s[1], kvHeads = s[2], d = s[3], nKv = s[4], ctx = nKv + 3;
                Random r = new Random(nQ * 131 + d);
                Tensor qt = f32(b, random(r, nQ * heads * d, 2f), nQ, heads, d);
                Tensor kt = typed(b, DType.F16, random(r, ctx * kvHeads * d, 1.5f), ctx, kvHeads, d);
                Tensor vt = typed(b, DType.F16, random(r, ctx * kvHeads * d, 1f), ctx, kvHeads, d);
                float[][] outs = new float[2][];
                for (int rowwise = 0; rowwise < 2; rowwise++) {
                    OpsNative.fabric_ops_set_attention_rowwise(rowwise);
                    Tensor o = out(b, DType.F32, nQ, heads, d);
                    b.attention(qt, kt, vt, nKv, nKv - nQ, (float) (1 / Math.sqrt(d)), o);
                    outs[rowwise] = b.readFloats(o);
                }
                for (int i = 0; i < outs[0].length; i++)
                    if (Float.floatToRawIntBits(outs[0][i]) != Float.floatToRawIntBits(outs[1][i]))
                        fail("variant " + variant + " shape " + java.util.Arrays.toString(s) + ": out[" + i + "] is "
                                + outs[0][i] + " grouped, " + outs[1][i] + " row by row");
            }
        } finally {
            OpsNative.fabric_ops_set_attention_rowwise(0);
        }
    }

    @ParameterizedTest
    @MethodSource("attentionCases")
    void attention_matchesNaive(int[] s, DType kvType, int variant) {
        CpuBackend b = backend(variant, 3);
        int nQ = s[0], heads = s[1], kvHeads = s[2], d = s[3], nKv = s[4];
        int ctx = nKv + 3; // cache rows beyond nKv must be ignored
        Random r = new Random(nQ * 31 + heads * 7 + d);
        float[] q = random(r, nQ * heads * d, 1f);
        float[] k = random(r, ctx * kvHeads * d, 1f), v = random(r, ctx * kvHeads * d, 1f);
        Tensor kt = typed(b, kvType, k, ctx, kvHeads, d), vt = typed(b, kvType, v, ctx, kvHeads, d);
        Tensor o = out(b, DType.F32, nQ, heads, d);
        float scale = (float) (1 / Math.sqrt(d));
        b.attention(f32(b, q, nQ, heads, d), kt, vt, nKv, nKv - nQ, scale, o);
        double[] want = NaiveOps.attention(q, nQ, heads, d, k, v, nKv, kvHeads, nKv - nQ, scale, kvType == DType.F16);
        // outputs are convex combinations of v (|v| ~ 1): an absolute bound. With an F16 cache the V sum is
        // rounded to F16 at every step; a 1-ulp difference of exp() between Java and C may flip one rounding
        // (2^-11 relative), so that case gets 2e-3.
        assertClose("attention", want, b.readFloats(o), ones(want.length), kvType == DType.F16 ? 2e-3 : 2e-5);
    }

    @ParameterizedTest
    @MethodSource("variants")
    void softmax_swiglu_add_mul_scale_matchNaive(int variant, int threads) {
        CpuBackend b = backend(variant, threads);
        Random r = new Random(5);
        int rows = 6, n = 37;
        float[] x = random(r, rows * n, 4f), u = random(r, rows * n, 1f), bias = random(r, n, 1f),
                two = random(r, 2 * n, 1f);
        Tensor xt = f32(b, x, rows, n), ut = f32(b, u, rows, n), y = out(b, DType.F32, rows, n);
        b.softmax(xt, y);
        assertClose("softmax", NaiveOps.softmax(x, rows, n), b.readFloats(y), ones(x.length), 1e-6);
        b.swiglu(xt, ut, y);
        assertClose("swiglu", NaiveOps.swiglu(x, u), b.readFloats(y), null, 1e-6);
        b.add(xt, f32(b, bias, 1, n), y);
        assertClose("add", NaiveOps.add(x, n, bias), b.readFloats(y), null, 1e-7);
        b.add(xt, f32(b, two, 2, n), y);
        assertClose("add 2-row broadcast", NaiveOps.add(x, n, two), b.readFloats(y), null, 1e-7);
        b.mul(xt, f32(b, bias, 1, n), y);
        assertClose("mul", NaiveOps.mul(x, n, bias), b.readFloats(y), null, 1e-7);
        b.scale(xt, 0.37f, y);
        assertClose("scale", NaiveOps.scale(x, 0.37f), b.readFloats(y), null, 1e-7);
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2})
    void largeOps_splitOverThreads_matchSingleThread(int unused) {
        // the pool's task split must not change results (each output is computed by one thread)
        Random r = new Random(6);
        int m = 67, k = 300, n = 131;
        float[] x = random(r, m * k, 1f), w = random(r, n * k, 1f);
        float[][] outs = new float[2][];
        for (int i = 0; i < 2; i++) {
            CpuBackend b = backend(OpsNative.fabric_ops_best_variant(), i == 0 ? 1 : 4);
            Tensor y = out(b, DType.F32, m, n);
            b.matmul(f32(b, x, m, k), typed(b, DType.F16, w.clone(), n, k), y);
            outs[i] = b.readFloats(y);
        }
        assertClose("threads", toDouble(outs[0]), outs[1], null, 0);
    }

    @ParameterizedTest
    @ValueSource(strings = {"matmul", "attention"})
    void badShapes_areRejected(String op) {
        CpuBackend b = backend(OpsNative.fabric_ops_best_variant(), 1);
        Tensor x = out(b, DType.F32, 2, 3), w = out(b, DType.F32, 4, 5), y = out(b, DType.F32, 2, 4);
        if (op.equals("matmul")) assertThrows(IllegalArgumentException.class, () -> b.matmul(x, w, y));
        else assertThrows(IllegalArgumentException.class, () -> b.attention(out(b, DType.F32, 1, 2, 3),
                out(b, DType.F32, 4, 1, 3), out(b, DType.F32, 4, 1, 3), 5, 0, 1f, out(b, DType.F32, 1, 2, 3)));
    }
}
