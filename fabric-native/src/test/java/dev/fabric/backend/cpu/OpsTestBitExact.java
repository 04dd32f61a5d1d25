package dev.fabric.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.fabric.backend.DType;
import dev.fabric.backend.RopeLayout;
import dev.fabric.backend.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The AVX-512 dense matmul and F16-cache attention bit for bit. The engine matches llama.cpp's AVX-512 build
 * exactly, so its kernels (blocked, tiled, multi-threaded) must keep each output's floating-point operations:
 * matmul against a scalar emulation of the documented summation orders (the 16-lane FMA chain and its lane
 * reduction; ggml's vec_dot order where llama.cpp declines to tile), and the grouped attention kernel against
 * the one-row kernel (whose expf is libm's, which Java cannot reproduce), and rope, rms_norm, add and mul
 * against the portable C++ loops (the same per-element arithmetic, scalar). Equality is on raw float bits.
 */
class OpsTestBitExact {
    private final List<Tensor> open = new ArrayList<>();

    @BeforeEach
    void needAvx512() {
        OpsNative.load();
        assumeTrue(OpsNative.fabric_ops_best_variant() == OpsNative.VARIANT_AVX512, "the orders are AVX-512's");
        OpsNative.fabric_ops_set_variant(OpsNative.VARIANT_AVX512);
    }

    @AfterEach
    void tearDown() {
        open.forEach(Tensor::close);
        open.clear();
        OpsNative.fabric_ops_set_attention_rowwise(0);
        OpsNative.fabric_ops_set_variant(OpsNative.VARIANT_AVX512);
    }

    private Tensor tensor(CpuBackend b, DType type, float[] data, long... shape) {
        Tensor src = b.allocate(DType.F32, shape);
        open.add(src);
        b.write(src, data);
        if (type == DType.F32) return src;
        Tensor t = b.allocate(type, shape);
        open.add(t);
        b.copy(src, t);
        return t;
    }

    private static float[] random(Random r, int n, float scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (r.nextGaussian() * scale);
        return a;
    }

    private static float round(DType t, float v) {
        return switch (t) {
            case F16 -> Float.float16ToFloat(Float.floatToFloat16(v));
            case BF16 -> NaiveOps.bf16(v);
            default -> v;
        };
    }

    /** _mm512_reduce_add_ps: lanes i and i+8, then i and i+4, i and i+2, i and i+1. */
    static float reduce16(float[] a) {
        float[] b = new float[8];
        for (int i = 0; i < 8; i++) b[i] = a[i] + a[i + 8];
        float[] c = new float[4];
        for (int i = 0; i < 4; i++) c[i] = b[i] + b[i + 4];
        return (c[0] + c[2]) + (c[1] + c[3]);
    }

    /** One output as the 16-lane kernels sum it: lane l takes elements l, l+16, ... by FMA (zeros past k). */
    static float laneChain(float[] x, int xo, float[] w, int wo, int k) {
        float[] acc = new float[16];
        for (int i = 0; i < k; i += 16)
            for (int l = 0; l < 16; l++) {
                boolean in = i + l < k;
                acc[l] = Math.fma(in ? x[xo + i + l] : 0f, in ? w[wo + i + l] : 0f, acc[l]);
            }
        return reduce16(acc);
    }

    /** ggml's vec_dot: 4 x 16 lanes over blocks of 64, (a0+a2)+(a1+a3) reduced, then the tail in order. */
    static float vecDot(float[] x, int xo, float[] w, int wo, int k, boolean f32) {
        int body = k & ~63;
        float[][] acc = new float[4][16];
        for (int i = 0; i < body; i += 64)
            for (int j = 0; j < 4; j++)
                for (int l = 0; l < 16; l++)
                    acc[j][l] = Math.fma(x[xo + i + 16 * j + l], w[wo + i + 16 * j + l], acc[j][l]);
        float[] t = new float[16];
        for (int l = 0; l < 16; l++) t[l] = (acc[0][l] + acc[2][l]) + (acc[1][l] + acc[3][l]);
        float head = body > 0 ? reduce16(t) : 0f;
        if (f32) {
            float sum = head;
            int split = body + ((k - body) & ~7);
            for (int i = body; i < split; i++) sum += x[xo + i] * w[wo + i];
            for (int i = split; i < k; i++) sum = Math.fma(x[xo + i], w[wo + i], sum);
            return sum;
        }
        double sum = head;
        for (int i = body; i < k; i++) sum += (double) (x[xo + i] * w[wo + i]);
        return (float) sum;
    }

    @ParameterizedTest
    @ValueSource(strings = {"F16", "F32", "BF16"})
    void matmul_keepsTheSummationOrder(String typeName) {
        DType type = DType.valueOf(typeName);
        int[] ms = {1, 2, 3, 5, 7, 67, 100};
        int[] ks = {16, 48, 64, 1024, 3072, 40};
        int[] ns = {4, 8, 12, 68, 3, 6};
        Random r = new Random(type.ordinal());
        for (int m : ms)
            for (int k : ks)
                for (int n : ns) {
                    if ((long) m * k * n > 3_000_000) continue;
                    float[] x = random(r, m * k, 1f), w = random(r, n * k, 0.5f);
                    for (int threads : new int[] {1, 3}) {
                        CpuBackend b = new CpuBackend(threads);
                        Tensor wt = tensor(b, type, w.clone(), n, k), xt = tensor(b, DType.F32, x, m, k);
                        Tensor y = b.allocate(DType.F32, m, n);
                        open.add(y);
                        b.matmul(xt, wt, y);
                        float[] got = b.readFloats(y);
                        float[] xr = x.clone(), wr = w.clone();
                        for (int i = 0; i < xr.length; i++) xr[i] = round(type, xr[i]);
                        for (int i = 0; i < wr.length; i++) wr[i] = round(type, wr[i]);
                        boolean tiled = m == 1 || (k % 16 == 0 && n % 4 == 0) || type == DType.BF16;
                        for (int i = 0; i < m; i++)
                            for (int c = 0; c < n; c++) {
                                float want = tiled ? laneChain(xr, i * k, wr, c * k, k)
                                        : vecDot(xr, i * k, wr, c * k, k, type == DType.F32);
                                if (Float.floatToRawIntBits(want) != Float.floatToRawIntBits(got[i * n + c]))
                                    fail(type + " m " + m + " k " + k + " n " + n + " threads " + threads + ": y[" + i
                                            + "][" + c + "] is " + got[i * n + c] + ", the order gives " + want);
                            }
                    }
                }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 3})
    void attention_groupedKernelEqualsRowKernel(int threads) {
        // nQ, heads, kvHeads, headDim, nKv: GQA groups of 1, 2, 3 and 4, head sizes with and without a tail
        int[][] shapes = {{1, 1, 1, 1, 1}, {4, 4, 2, 16, 4}, {3, 6, 2, 13, 10}, {7, 8, 8, 40, 7}, {5, 6, 2, 80, 20},
            {9, 16, 8, 128, 40}, {8, 3, 1, 128, 8}, {17, 4, 1, 64, 70}, {33, 4, 2, 128, 33}, {6, 8, 2, 96, 30}};
        CpuBackend b = new CpuBackend(threads);
        for (int[] s : shapes) {
            int nQ = s[0], heads = s[1], kvHeads = s[2], d = s[3], nKv = s[4], ctx = nKv + 3;
            Random r = new Random(nQ * 131 + d);
            float[] q = random(r, nQ * heads * d, 2f);
            Tensor qt = tensor(b, DType.F32, q, nQ, heads, d);
            Tensor kt = tensor(b, DType.F16, random(r, ctx * kvHeads * d, 1.5f), ctx, kvHeads, d);
            Tensor vt = tensor(b, DType.F16, random(r, ctx * kvHeads * d, 1f), ctx, kvHeads, d);
            float[][] outs = new float[2][];
            for (int rowwise = 0; rowwise < 2; rowwise++) {
                OpsNative.fabric_ops_set_attention_rowwise(rowwise);
                Tensor o = b.allocate(DType.F32, nQ, heads, d);
                open.add(o);
                b.attention(qt, kt, vt, nKv, nKv - nQ, (float) (1 / Math.sqrt(d)), o);
                outs[rowwise] = b.readFloats(o);
            }
            assertEquals(outs[0].length, outs[1].length);
            for (int i = 0; i < outs[0].length; i++)
                if (Float.floatToRawIntBits(outs[0][i]) != Float.floatToRawIntBits(outs[1][i]))
                    fail("shape " + java.util.Arrays.toString(s) + ": out[" + i + "] is " + outs[0][i]
                            + " grouped, " + outs[1][i] + " row by row");
        }
    }
    @ParameterizedTest
    @ValueSource(ints = {1, 3})
    void ropeNormAddMul_avx512EqualsPortable(int threads) {
        // tokens, heads, head_dim, n_rot (pairs: 64, 32, 20, 24 - whole groups of 16 and tails)
        int[][] ropeShapes = {{7, 4, 128, 128}, {5, 3, 80, 64}, {9, 2, 64, 40}, {3, 5, 48, 48}};
        // rows, n (groups of 8 rows and leftovers, row lengths with and without a tail of 8)
        int[][] normShapes = {{7, 128}, {16, 1024}, {19, 1024}, {8, 13}, {33, 40}, {1, 5}};
        List<float[]> results = new ArrayList<>();
        for (int variant : new int[] {OpsNative.VARIANT_AVX512, OpsNative.VARIANT_GENERIC}) {
            OpsNative.fabric_ops_set_variant(variant);
            CpuBackend b = new CpuBackend(threads);
            Random data = new Random(11 + threads); // the same data for both variants
            for (int[] s : ropeShapes)
                for (RopeLayout layout : RopeLayout.values()) {
                    int n = s[0], heads = s[1], d = s[2];
                    Tensor x = tensor(b, DType.F32, random(data, n * heads * d, 3f), n, heads, d);
                    int[] pos = new int[n];
                    for (int i = 0; i < n; i++) pos[i] = 3 * i + 100;
                    Tensor p = b.allocate(DType.I32, n);
                    open.add(p);
                    b.write(p, pos);
                    Tensor y = b.allocate(DType.F32, n, heads, d);
                    open.add(y);
                    b.rope(x, p, s[3], 1_000_000f, layout, y);
                    results.add(b.readFloats(y));
                    b.rope(x, p, s[3], 10_000f, layout, x); // in place, another base
                    results.add(b.readFloats(x));
                }
            for (int[] s : normShapes) {
                int rows = s[0], n = s[1];
                Tensor x = tensor(b, DType.F32, random(data, rows * n, 2f), rows, n);
                Tensor w = tensor(b, DType.F32, random(data, n, 1f), 1, n);
                Tensor other = tensor(b, DType.F32, random(data, rows * n, 1f), rows, n);
                Tensor y = b.allocate(DType.F32, rows, n);
                open.add(y);
                b.rms_norm(x, 1e-6f, y);
                results.add(b.readFloats(y));
                b.mul(y, w, y);
                results.add(b.readFloats(y));
                b.add(y, other, y);
                results.add(b.readFloats(y));
            }
        }
        int half = results.size() / 2;
        for (int i = 0; i < half; i++) {
            float[] fast = results.get(i), plain = results.get(half + i);
            for (int j = 0; j < fast.length; j++)
                if (Float.floatToRawIntBits(fast[j]) != Float.floatToRawIntBits(plain[j]))
                    fail("result " + i + " element " + j + ": AVX-512 " + fast[j] + ", portable " + plain[j]);
        }
    }
}
