package dev.fabric.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.fabric.backend.DType;
import dev.fabric.backend.Tensor;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The AVX-512 kernels sum in the orders of llama.cpp's AVX-512 build, so that our logits and imatrix statistics
 * are its bits (ImatrixCommandTest and ParityTest check that end to end against shared/ref). This test pins
 * each order down independently of shared/ref: a scalar Java emulation of the order, written from the
 * descriptions in fabric_matmul.inc and fabric_elementwise.inc, must give exactly the native result (raw bits, not a tolerance), on shapes
 * that take every branch: the tiled GEMM (2+ rows, k % 16 == 0, outputs % 4 == 0), the vec_dot fallback with
 * its 64-element body and its tail, the eight-lane Q8_0 dot, and swiglu's vector exponential.
 */
class GgmlOrderTest {
    private CpuBackend b;

    @BeforeEach
    void avx512Only() {
        assumeTrue(OpsNative.fabric_ops_best_variant() >= OpsNative.VARIANT_AVX512,
                "these orders are those of llama.cpp's AVX-512 build; this CPU has no AVX-512");
        OpsNative.fabric_ops_set_variant(OpsNative.VARIANT_AVX512);
        b = new CpuBackend(2);
    }

    @AfterEach
    void close() {
        if (b != null) b.close();
    }

    // ---- emulation -------------------------------------------------------------------------------------

    /** _mm512_reduce_add_ps as GCC defines it: halves, then quarters, then (0+2)+(1+3). */
    static float reduce16(float[] v) {
        float[] t3 = new float[8], t6 = new float[4];
        for (int i = 0; i < 8; i++) t3[i] = v[8 + i] + v[i];
        for (int i = 0; i < 4; i++) t6[i] = t3[4 + i] + t3[i];
        return (t6[0] + t6[2]) + (t6[1] + t6[3]);
    }

    /** One output of the tiled GEMM: 16 FMA lanes over k (lane = i % 16), then reduce16. */
    static float tileDot(float[] x, int xo, float[] w, int wo, int k) {
        float[] lane = new float[16];
        for (int i = 0; i < k; i++) lane[i % 16] = Math.fma(x[xo + i], w[wo + i], lane[i % 16]);
        return reduce16(lane);
    }

    /** One output of ggml's vec_dot: 4 x 16 FMA lanes over 64-blocks, (a0+a2)+(a1+a3), reduce16, then the tail. */
    static float vecDot(float[] x, int xo, float[] w, int wo, int k, boolean f16) {
        int body = k & ~63;
        float[][] acc = new float[4][16];
        for (int i = 0; i < body; i++) {
            int j = (i / 16) % 4, l = i % 16;
            acc[j][l] = Math.fma(x[xo + i], w[wo + i], acc[j][l]);
        }
        float[] s = new float[16];
        for (int l = 0; l < 16; l++) s[l] = (acc[0][l] + acc[2][l]) + (acc[1][l] + acc[3][l]);
        float head = body > 0 ? reduce16(s) : 0f;
        if (f16) { // exact products summed in double
            double sum = head;
            for (int i = body; i < k; i++) sum += (double) (x[xo + i] * w[wo + i]);
            return (float) sum;
        }
        float sum = head;
        int split = body + ((k - body) & ~7);
        for (int i = body; i < split; i++) sum += x[xo + i] * w[wo + i];
        for (int i = split; i < k; i++) sum = Math.fma(x[xo + i], w[wo + i], sum);
        return sum;
    }

    static float f16(float v) {
        return Float.float16ToFloat(Float.floatToFloat16(v));
    }

    static float[] random(Random r, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (r.nextGaussian() * Math.exp(r.nextGaussian()));
        return v;
    }

    private Tensor tensor(DType t, float[] v, long... shape) {
        Tensor x = b.allocate(DType.F32, shape);
        b.write(x, v);
        if (t == DType.F32) return x;
        Tensor y = b.allocate(t, shape);
        b.copy(x, y);
        return y;
    }

    private static void assertBits(float want, float got, String what) {
        assertEquals(Float.floatToRawIntBits(want), Float.floatToRawIntBits(got),
                () -> what + ": want " + Float.toHexString(want) + " got " + Float.toHexString(got));
    }

    // ---- tests ---------------------------------------------------------------------------------------

    @ParameterizedTest(name = "{0} m={1} k={2} n={3}")
    @CsvSource({"F32, 3, 172, 5", "F32, 2, 64, 6", "F32, 5, 8, 4", "F32, 3, 200, 8", "F32, 4, 64, 8", "F32, 67, 48, 12",
        "F16, 3, 172, 5", "F16, 2, 80, 4", "F16, 3, 256, 6", "F16, 4, 1024, 8", "F16, 66, 64, 4"})
    void denseMatmul_followsGgmlOrder(DType type, int m, int k, int n) {
        Random r = new Random(31L * m + 7L * k + n);
        float[] x = random(r, m * k), w = random(r, n * k);
        Tensor wt = tensor(type, w, n, k), y = b.allocate(DType.F32, m, n);
        b.matmul(tensor(DType.F32, x, m, k), wt, y);
        float[] got = b.readFloats(y);
        boolean f16 = type == DType.F16;
        float[] xs = x.clone(), ws = w.clone();
        if (f16)
            for (int i = 0; i < xs.length; i++) xs[i] = f16(xs[i]);
        if (f16)
            for (int i = 0; i < ws.length; i++) ws[i] = f16(ws[i]);
        boolean tiled = k % 16 == 0 && n % 4 == 0;
        for (int i = 0; i < m; i++)
            for (int c = 0; c < n; c++) {
                float want = tiled ? tileDot(xs, i * k, ws, c * k, k) : vecDot(xs, i * k, ws, c * k, k, f16);
                assertBits(want, got[i * n + c], type + (tiled ? " tile" : " vec_dot") + " y[" + i + "][" + c + "]");
            }
    }

    /** Q8_0 x Q8_0: eight float lanes (4 elements each) accumulate d_w*d_x*isum by FMA, then halves and pairs. */
    @ParameterizedTest(name = "m={0} k={1} n={2}")
    @CsvSource({"1, 32, 3", "3, 96, 5", "2, 256, 8"})
    void q8_0Matmul_followsEightLaneOrder(int m, int k, int n) {
        Random r = new Random(m + 13L * k + n);
        float[] x = random(r, m * k), w = random(r, n * k);
        byte[][] wq = new byte[n][], xq = new byte[m][];
        float[][] wd = new float[n][], xd = new float[m][];
        for (int c = 0; c < n; c++) q8(w, c * k, k, wq[c] = new byte[k], wd[c] = new float[k / 32]);
        for (int i = 0; i < m; i++) q8(x, i * k, k, xq[i] = new byte[k], xd[i] = new float[k / 32]);
        byte[] blocks = new byte[n * (k / 32) * 34];  // ggml block_q8_0: F16 d, then 32 int8
        for (int c = 0, o = 0; c < n; c++)
            for (int blk = 0; blk < k / 32; blk++, o += 34) {
                short d = Float.floatToFloat16(wd[c][blk]);
                blocks[o] = (byte) d;
                blocks[o + 1] = (byte) (d >> 8);
                System.arraycopy(wq[c], 32 * blk, blocks, o + 2, 32);
            }
        Tensor wt = b.allocate(DType.Q8_0, n, k), y = b.allocate(DType.F32, m, n);
        b.write(wt, blocks);
        b.matmul(tensor(DType.F32, x, m, k), wt, y);
        float[] got = b.readFloats(y);
        for (int i = 0; i < m; i++)
            for (int c = 0; c < n; c++) {
                float[] lane = new float[8];
                for (int blk = 0; blk < k / 32; blk++) {
                    float scale = wd[c][blk] * xd[i][blk];
                    for (int l = 0; l < 8; l++) {
                        int sum = 0;
                        for (int j = 32 * blk + 4 * l; j < 32 * blk + 4 * l + 4; j++) sum += wq[c][j] * xq[i][j];
                        lane[l] = Math.fma(scale, (float) sum, lane[l]);
                    }
                }
                float[] t = new float[4];
                for (int q = 0; q < 4; q++) t[q] = lane[q + 4] + lane[q];
                assertBits((t[0] + t[2]) + (t[1] + t[3]), got[i * n + c], "Q8_0 y[" + i + "][" + c + "]");
            }
    }

    /** Q8_0 as ggml's reference quantizer (and llama.cpp's x86 activations): d = amax/127, q = round(x * 127/amax). */
    private static void q8(float[] v, int o, int k, byte[] q, float[] d) {
        for (int blk = 0; blk < k / 32; blk++) {
            float amax = 0;
            for (int j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(v[o + 32 * blk + j]));
            d[blk] = f16(amax / 127f);
            float id = amax != 0 ? 127f / amax : 0f;
            for (int j = 0; j < 32; j++) q[32 * blk + j] = (byte) Math.rint(v[o + 32 * blk + j] * id);
        }
    }

    /**
     * swiglu over rows whose length is a multiple of 16: silu(g) = g / (1 + e^-g) with e^x from ggml's AVX-512
     * approximation (Cody-Waite split of x by ln2 into n and b, a degree-5 polynomial in b, scaled by 2^n).
     */
    @ParameterizedTest(name = "rows={0} n={1}")
    @CsvSource({"3, 48", "2, 768"})
    void swiglu_followsGgmlVectorExp(int rows, int n) {
        Random r = new Random(rows * 1000L + n);
        float[] g = random(r, rows * n), u = random(r, rows * n);
        g[0] = 0f;
        g[1] = -0f;
        g[2] = 120f;   // e^-120: |n| > 126, still within the scalef range
        g[3] = -150f;  // e^150: n > 192 gives +inf, silu = -0
        g[4] = 150f;   // e^-150: n < -192 gives 0, silu = g
        g[5] = 88.5f;
        Tensor y = b.allocate(DType.F32, rows, n);
        b.swiglu(tensor(DType.F32, g, rows, n), tensor(DType.F32, u, rows, n), y);
        float[] got = b.readFloats(y);
        for (int i = 0; i < g.length; i++) {
            float e = expGgml(0f - g[i]);
            float want = g[i] / (1f + e) * u[i];
            assertBits(want, got[i], "swiglu[" + i + "] g=" + g[i]);
        }
    }

    static float expGgml(float x) {
        float shift = 0x1.8p23f;
        float z = Math.fma(x, 0x1.715476p+0f, shift);
        float n = z - shift;
        float b = Math.fma(-n, 0x1.7f7d1cp-20f, Math.fma(-n, 0x1.62e4p-1f, x));
        float b2 = b * b;
        float hi = Math.fma(Math.fma(0x1.0e4020p-7f, b, 0x1.573e2ep-5f), b2, Math.fma(0x1.555e66p-3f, b, 0x1.fffdb6p-2f));
        float p = Math.fma(hi, b2, Math.fma(0x1.ffffecp-1f, b, 1f));
        if (Math.abs(n) > 192f) return n <= 0 ? 0f : Float.POSITIVE_INFINITY;
        return Math.scalb(p, (int) n);
    }
}
