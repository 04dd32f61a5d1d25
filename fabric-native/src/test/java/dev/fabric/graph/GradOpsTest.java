package dev.fabric.graph;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fabric.backend.Backend;
import dev.fabric.backend.DType;
import dev.fabric.backend.RefOps;
import dev.fabric.backend.RopeLayout;
import dev.fabric.backend.Tensor;
import dev.fabric.backend.cpu.CpuBackend;
import dev.fabric.backend.cpu.TrainNative;
import dev.fabric.quant.Quantizer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every op's backward kernel against central finite differences of a double-precision reference of its forward
 * ({@link RefOps}), on odd shapes (one row, widths that are not multiples of 8 or 16, chunk boundaries, GQA 1/2/4).
 * The loss is L = sum(R * op(x)) for a random R, so the kernel's input gradient for dy = R must equal dL/dx.
 * Tolerance: normwise relative error (max |err| / max |grad|) below 1e-4: the kernels sum at most a few
 * hundred F32 terms (relative rounding about 1e-6 each), and central differences in double with step 1e-3 err by
 * h^2 f'''/6, about 1e-7 here. Matmul's input gradient through a quantized weight is linear in dy with the
 * weight's dequantized values: checked against that exact product in double, tolerance 1e-5 of sum |dy| |w|.
 * The largest error per op is printed at the end.
 */
class GradOpsTest {
    private static final Map<String, Double> WORST = new TreeMap<>();
    private final List<Tensor> open = new ArrayList<>();
    private final Backend b = new CpuBackend(3);
    private final Random rnd = new Random(42);

    @AfterEach
    void tearDown() {
        open.forEach(Tensor::close);
        open.clear();
        TrainNative.fabric_train_set_variant(2);
    }

    @AfterAll
    static void report() {
        WORST.forEach((op, e) -> System.out.printf("GRADCHECK %-28s largest relative error %.3e%n", op, e));
    }

    private static synchronized void record(String op, double err, double tol) {
        WORST.merge(op, err, Math::max);
        assertTrue(err <= tol, op + ": relative error " + err + " > " + tol);
    }

    private float[] randn(int n, double s) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (s * rnd.nextGaussian());
        return v;
    }

    private Tensor f32(float[] v, long... shape) {
        Tensor t = b.allocate(DType.F32, shape);
        open.add(t);
        b.write(t, v);
        return t;
    }

    private Tensor i32(int[] v) {
        Tensor t = b.allocate(DType.I32, v.length);
        open.add(t);
        b.write(t, v);
        return t;
    }

    private Tensor zeros(long... shape) {
        Tensor t = b.allocate(DType.F32, shape);
        open.add(t);
        return t;
    }

    private static final double TOL = 1e-4, H = 1e-3;

    // ---- matmul --------------------------------------------------------------------------------------------

    static Stream<Arguments> matmulCases() {
        List<Arguments> a = new ArrayList<>();
        int[][] plain = {{1, 1, 7}, {3, 17, 37}, {5, 70, 33}, {300, 9, 20}, {2, 65, 300}};
        for (DType t : new DType[] {DType.F32, DType.F16, DType.BF16})
            for (int[] s : plain) a.add(Arguments.of(t, s[0], s[1], s[2]));
        for (DType t : DType.values()) {
            if (!t.isQuantized()) continue;
            int k = t.blockSize() == 32 ? 96 : 512;
            a.add(Arguments.of(t, 1, 3, k));
            a.add(Arguments.of(t, 7, 66, k));
            a.add(Arguments.of(t, 260, 5, t.blockSize() == 32 ? 288 : 256));
        }
        return a.stream();
    }

    @ParameterizedTest
    @MethodSource("matmulCases")
    void matmulBackwardX_equalsDyTimesStoredWeight(DType type, int m, int n, int k) {
        float[] wf = randn(n * k, 0.5), dy = randn(m * n, 1);
        Tensor w = weight(type, wf, n, k);
        // the weight as the kernels read it (dequantized by the forward's row reader)
        Tensor all = zeros(n, k);
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) ids[i] = i;
        b.get_rows(w, i32(ids), all);
        double[] wd = RefOps.toDouble(b.readFloats(all));
        Tensor dyt = f32(dy, m, n), dx = zeros(m, k);
        b.matmul_backward_x(dyt, w, dx, false);
        float[] got = b.readFloats(dx);
        double worst = 0;
        for (int i = 0; i < m; i++)
            for (int e = 0; e < k; e++) {
                double want = 0, mag = 0;
                for (int j = 0; j < n; j++) {
                    want += dy[i * n + j] * wd[j * k + e];
                    mag += Math.abs(dy[i * n + j] * wd[j * k + e]);
                }
                worst = Math.max(worst, Math.abs(got[i * k + e] - want) / Math.max(mag, 1e-30));
            }
        record("matmul_backward_x " + type, worst, 1e-5);
        // accumulate adds onto what is there
        b.matmul_backward_x(dyt, w, dx, true);
        float[] twice = b.readFloats(dx);
        for (int i = 0; i < got.length; i++) assertEquals(2 * got[i], twice[i], 1e-5 * (1 + Math.abs(got[i])));
    }

    private Tensor weight(DType type, float[] wf, int n, int k) {
        if (type == DType.F32) return f32(wf, n, k);
        Tensor w = b.allocate(type, n, k);
        open.add(w);
        if (type == DType.F16 || type == DType.BF16) b.copy(f32(wf, n, k), w);
        else b.write(w, Quantizer.quantize(type.ggmlType(), wf, n, k, null, 1));
        return w;
    }

    @ParameterizedTest
    @MethodSource("shapes2")
    void matmul_gradients_matchFiniteDifferences(int m, int k) {
        int n = k % 5 + 3;
        float[] x = randn(m * k, 1), w = randn(n * k, 0.5), r = randn(m * n, 1);
        Tensor dy = f32(r, m, n), dx = zeros(m, k), dw = zeros(n, k);
        b.matmul_backward_x(dy, f32(w, n, k), dx, false);
        b.matmul_backward_w(f32(x, m, k), dy, dw);
        double[] xd = RefOps.toDouble(x), wd = RefOps.toDouble(w), rd = RefOps.toDouble(r);
        record("matmul dx", RefOps.relError(b.readFloats(dx),
                RefOps.numericGrad(v -> RefOps.dot(rd, RefOps.matmul(v, m, k, wd, n)), xd, H)), TOL);
        record("matmul dw", RefOps.relError(b.readFloats(dw),
                RefOps.numericGrad(v -> RefOps.dot(rd, RefOps.matmul(xd, m, k, v, n)), wd, H)), TOL);
    }

    static Stream<Arguments> shapes2() {
        return Stream.of(Arguments.of(1, 1), Arguments.of(1, 7), Arguments.of(5, 33), Arguments.of(3, 128),
                Arguments.of(17, 9), Arguments.of(40, 130));
    }

    // ---- rms_norm, mul, add, scale, softmax, swiglu ---------------------------------------------------------

    @ParameterizedTest
    @MethodSource("shapes2")
    void rmsNorm_matchesFiniteDifferences(int rows, int n) {
        float[] x = randn(rows * n, 1), r = randn(rows * n, 1);
        Tensor dx = zeros(rows, n);
        b.rms_norm_backward(f32(x, rows, n), f32(r, rows, n), 1e-5f, dx);
        double[] rd = RefOps.toDouble(r);
        record("rms_norm", RefOps.relError(b.readFloats(dx),
                RefOps.numericGrad(v -> RefOps.dot(rd, RefOps.rmsNorm(v, rows, n, 1e-5)), RefOps.toDouble(x), H)), TOL);
    }

    @ParameterizedTest
    @MethodSource("shapes2")
    void mulAndAdd_broadcastOperand_matchFiniteDifferences(int rows, int n) {
        float[] a = randn(rows * n, 1), w = randn(n, 1), r = randn(rows * n, 1);
        Tensor dy = f32(r, rows, n), da = zeros(rows, n), dw = zeros(n), db = zeros(n);
        b.mul(dy, f32(w, 1, n), da);
        b.column_sum(dy, f32(a, rows, n), dw);
        b.column_sum(dy, null, db);
        double[] ad = RefOps.toDouble(a), wd = RefOps.toDouble(w), rd = RefOps.toDouble(r);
        record("mul da", RefOps.relError(b.readFloats(da), RefOps.numericGrad(v -> RefOps.dot(rd, RefOps.mul(v, wd)), ad, H)), TOL);
        record("mul db (column_sum)", RefOps.relError(b.readFloats(dw), RefOps.numericGrad(v -> RefOps.dot(rd, RefOps.mul(ad, v)), wd, H)), TOL);
        record("add db (column_sum)", RefOps.relError(b.readFloats(db), RefOps.numericGrad(v -> RefOps.dot(rd, RefOps.add(ad, v)), wd, H)), TOL);
        Tensor ds = zeros(rows, n);
        b.scale(dy, 0.37f, ds);
        record("scale", RefOps.relError(b.readFloats(ds), RefOps.numericGrad(v -> RefOps.dot(rd, RefOps.scale(v, 0.37f)), ad, H)), TOL);
    }

    @ParameterizedTest
    @MethodSource("shapes2")
    void softmaxAndSwiglu_matchFiniteDifferences(int rows, int n) {
        float[] x = randn(rows * n, 1.5), u = randn(rows * n, 1), r = randn(rows * n, 1);
        Tensor xt = f32(x, rows, n), y = zeros(rows, n), dx = zeros(rows, n);
        b.softmax(xt, y);
        b.softmax_backward(y, f32(r, rows, n), dx);
        double[] rd = RefOps.toDouble(r), xd = RefOps.toDouble(x), ud = RefOps.toDouble(u);
        record("softmax", RefOps.relError(b.readFloats(dx), RefOps.numericGrad(v -> RefOps.dot(rd, RefOps.softmax(v, rows, n)), xd, H)), TOL);
        Tensor dg = zeros(rows, n), du = zeros(rows, n);
        b.swiglu_backward(xt, f32(u, rows, n), f32(r, rows, n), dg, du);
        record("swiglu dgate", RefOps.relError(b.readFloats(dg), RefOps.numericGrad(v -> RefOps.dot(rd, RefOps.swiglu(v, ud)), xd, H)), TOL);
        record("swiglu dup", RefOps.relError(b.readFloats(du), RefOps.numericGrad(v -> RefOps.dot(rd, RefOps.swiglu(xd, v)), ud, H)), TOL);
    }

    // ---- rope ----------------------------------------------------------------------------------------------

    static Stream<Arguments> ropeCases() {
        return Stream.of(Arguments.of(1, 1, 2, 2, true), Arguments.of(3, 2, 8, 8, true), Arguments.of(5, 3, 10, 6, true),
                Arguments.of(3, 2, 8, 8, false), Arguments.of(4, 3, 10, 6, false), Arguments.of(17, 1, 16, 16, false));
    }

    @ParameterizedTest
    @MethodSource("ropeCases")
    void rope_backward_isTheTransposeRotation(int t, int heads, int d, int nRot, boolean neox) {
        float[] x = randn(t * heads * d, 1), r = randn(t * heads * d, 1);
        int[] pos = new int[t], neg = new int[t];
        for (int i = 0; i < t; i++) {
            pos[i] = 3 * i + 1;
            neg[i] = -pos[i];
        }
        Tensor dx = zeros(t, heads, d);
        b.rope(f32(r, t, heads, d), i32(neg), nRot, 10000f, neox ? RopeLayout.NEOX : RopeLayout.NORMAL, dx);
        double[] rd = RefOps.toDouble(r);
        record("rope " + (neox ? "neox" : "normal"), RefOps.relError(b.readFloats(dx), RefOps.numericGrad(
                v -> RefOps.dot(rd, RefOps.rope(v, t, heads, d, nRot, pos, 10000, neox)), RefOps.toDouble(x), H)), TOL);
    }

    // ---- attention -----------------------------------------------------------------------------------------

    static Stream<Arguments> attentionCases() {
        // batch, t, heads, kvHeads, d, packed (segment ids)
        return Stream.of(Arguments.of(1, 1, 1, 1, 4, false), Arguments.of(1, 7, 2, 2, 5, false),
                Arguments.of(2, 6, 4, 2, 8, false), Arguments.of(1, 19, 4, 1, 3, false), Arguments.of(2, 9, 4, 4, 6, true),
                Arguments.of(1, 18, 8, 2, 4, true));
    }

    @ParameterizedTest
    @MethodSource("attentionCases")
    void attention_forwardAndBackward_matchReference(int batch, int t, int heads, int kvHeads, int d, boolean packed) {
        int rows = batch * t;
        float[] q = randn(rows * heads * d, 1), k = randn(rows * kvHeads * d, 1), v = randn(rows * kvHeads * d, 1),
                r = randn(rows * heads * d, 1);
        int[] seg = new int[rows];
        if (packed) for (int i = 0; i < rows; i++) seg[i] = (i % t) * 3 / t;  // three examples per sequence
        float scale = (float) (1 / Math.sqrt(d));
        Tensor qt = f32(q, rows, heads * d), kt = f32(k, rows, kvHeads * d), vt = f32(v, rows, kvHeads * d);
        Tensor segt = packed ? i32(seg) : null, out = zeros(rows, heads * d), lse = zeros(rows, heads);
        b.attention_train(qt, kt, vt, segt, batch, heads, kvHeads, scale, out, lse);
        double[] qd = RefOps.toDouble(q), kd = RefOps.toDouble(k), vd = RefOps.toDouble(v), rd = RefOps.toDouble(r);
        int[] sg = packed ? seg : null;
        record("attention forward", RefOps.relError(b.readFloats(out),
                RefOps.attention(qd, kd, vd, sg, batch, t, heads, kvHeads, d, scale)), 1e-5);
        Tensor dq = zeros(rows, heads * d), dk = zeros(rows, kvHeads * d), dv = zeros(rows, kvHeads * d);
        b.attention_backward(qt, kt, vt, segt, out, lse, f32(r, rows, heads * d), batch, heads, kvHeads, scale, dq, dk, dv);
        String gqa = " (gqa " + heads / kvHeads + ")";
        record("attention dq" + gqa, RefOps.relError(b.readFloats(dq), RefOps.numericGrad(
                x -> RefOps.dot(rd, RefOps.attention(x, kd, vd, sg, batch, t, heads, kvHeads, d, scale)), qd, H)), TOL);
        record("attention dk" + gqa, RefOps.relError(b.readFloats(dk), RefOps.numericGrad(
                x -> RefOps.dot(rd, RefOps.attention(qd, x, vd, sg, batch, t, heads, kvHeads, d, scale)), kd, H)), TOL);
        record("attention dv" + gqa, RefOps.relError(b.readFloats(dv), RefOps.numericGrad(
                x -> RefOps.dot(rd, RefOps.attention(qd, kd, x, sg, batch, t, heads, kvHeads, d, scale)), vd, H)), TOL);
    }

    // ---- cross-entropy, get_rows, dropout -------------------------------------------------------------------

    @ParameterizedTest
    @MethodSource("shapes2")
    void crossEntropy_lossAndGradient_matchReference(int rows, int vocab) {
        float[] x = randn(rows * vocab, 2);
        int[] tg = new int[rows];
        int n = 0;
        for (int i = 0; i < rows; i++) {
            tg[i] = i % 3 == 1 ? -1 : rnd.nextInt(vocab);
            if (tg[i] >= 0) n++;
        }
        Tensor lt = f32(x, rows, vocab);
        float s = n == 0 ? 1 : 1f / n;
        Backend.CrossEntropy ce = b.cross_entropy(lt, i32(tg), s);
        double[] xd = RefOps.toDouble(x);
        assertEquals(n, ce.count());
        assertEquals(RefOps.crossEntropy(xd, rows, vocab, tg), ce.lossSum(), 1e-5 * Math.max(1, Math.abs(ce.lossSum())));
        double[] want = RefOps.numericGrad(v -> s * RefOps.crossEntropy(v, rows, vocab, tg), xd, H);
        record("cross_entropy", RefOps.relError(b.readFloats(lt), want), n == 0 ? 0 : TOL);
    }

    @Test
    void getRowsBackward_scatterAddsRepeatedIds() {
        int rows = 7, cols = 300;
        int[] ids = {3, 0, 3, 6, 3, 1};
        float[] dy = randn(ids.length * cols, 1), t0 = randn(rows * cols, 1);
        Tensor dt = f32(t0, rows, cols);
        b.get_rows_backward(f32(dy, ids.length, cols), i32(ids), dt);
        double[] want = RefOps.toDouble(t0);
        for (int i = 0; i < ids.length; i++) for (int c = 0; c < cols; c++) want[ids[i] * cols + c] += dy[i * cols + c];
        // the sums run in id order in F32: within one rounding per addition
        record("get_rows", RefOps.relError(b.readFloats(dt), want), 1e-6);
    }

    @Test
    void dropout_backwardAppliesTheForwardMask() {
        int n = 10007;
        float[] x = new float[n], dy = randn(n, 1);
        java.util.Arrays.fill(x, 1f);
        Tensor y = zeros(n), dx = zeros(n);
        b.dropout(f32(x, n), 0.25f, 77, y);
        b.dropout(f32(dy, n), 0.25f, 77, dx);
        float[] mask = b.readFloats(y), g = b.readFloats(dx);
        int dropped = 0;
        for (int i = 0; i < n; i++) {
            if (mask[i] == 0) dropped++;
            else assertEquals(1f / 0.75f, mask[i], 1e-6f);
            assertEquals(dy[i] * mask[i], g[i], 1e-6f * Math.abs(dy[i]) + 1e-30f);
        }
        // about a quarter dropped (binomial: 2500 +- 44 is one sigma)
        assertTrue(Math.abs(dropped - 0.25 * n) < 250, "dropped " + dropped);
        Tensor y2 = zeros(n);
        b.dropout(f32(x, n), 0.25f, 78, y2);
        assertTrue(!java.util.Arrays.equals(mask, b.readFloats(y2)), "another seed, another mask");
        record("dropout", 0, 0);
    }

    /** Each kernel variant this CPU runs (portable, AVX2, AVX-512) on the vectorized kernels' odd shapes. */
    static Stream<Arguments> variants() {
        new CpuBackend(1);
        int best = TrainNative.fabric_train_set_variant(2);
        List<Arguments> a = new ArrayList<>();
        for (int v = 0; v <= best; v++) a.add(Arguments.of(v));
        return a.stream();
    }

    @ParameterizedTest
    @MethodSource("variants")
    void everyVariant_matmulAndAttentionGradients_matchReference(int variant) {
        assertEquals(variant, TrainNative.fabric_train_set_variant(variant));
        String v = " [variant " + variant + "]";
        for (int[] s : new int[][] {{1, 3, 7}, {9, 70, 33}, {5, 17, 300}}) {
            int m = s[0], n = s[1], k = s[2];
            float[] x = randn(m * k, 1), w = randn(n * k, 0.5), r = randn(m * n, 1);
            Tensor dy = f32(r, m, n), dx = zeros(m, k), dw = zeros(n, k), wh = weight(DType.F16, w.clone(), n, k),
                    dxh = zeros(m, k), all = zeros(n, k);
            b.matmul_backward_x(dy, f32(w, n, k), dx, false);
            b.matmul_backward_w(f32(x, m, k), dy, dw);
            b.matmul_backward_x(dy, wh, dxh, false);
            int[] ids = new int[n];
            for (int i = 0; i < n; i++) ids[i] = i;
            b.get_rows(wh, i32(ids), all);
            double[] xd = RefOps.toDouble(x), wd = RefOps.toDouble(w), rd = RefOps.toDouble(r);
            double[] dxWant = new double[m * k], dxhWant = new double[m * k], dwWant = new double[n * k];
            double[] whd = RefOps.toDouble(b.readFloats(all));
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                    for (int e = 0; e < k; e++) {
                        dxWant[i * k + e] += rd[i * n + j] * wd[j * k + e];
                        dxhWant[i * k + e] += rd[i * n + j] * whd[j * k + e];
                        dwWant[j * k + e] += rd[i * n + j] * xd[i * k + e];
                    }
            record("matmul dx" + v, RefOps.relError(b.readFloats(dx), dxWant), 1e-5);
            record("matmul dx F16" + v, RefOps.relError(b.readFloats(dxh), dxhWant), 1e-5);
            record("matmul dw" + v, RefOps.relError(b.readFloats(dw), dwWant), 1e-5);
        }
        int batch = 2, t = 19, heads = 4, kvHeads = 2, d = 20, rows = batch * t;
        float[] q = randn(rows * heads * d, 1), k = randn(rows * kvHeads * d, 1), vv = randn(rows * kvHeads * d, 1),
                r = randn(rows * heads * d, 1);
        int[] seg = new int[rows];
        for (int i = 0; i < rows; i++) seg[i] = (i % t) / 7;
        float scale = (float) (1 / Math.sqrt(d));
        Tensor qt = f32(q, rows, heads * d), kt = f32(k, rows, kvHeads * d), vt = f32(vv, rows, kvHeads * d),
                st = i32(seg), out = zeros(rows, heads * d), lse = zeros(rows, heads);
        b.attention_train(qt, kt, vt, st, batch, heads, kvHeads, scale, out, lse);
        double[] qd = RefOps.toDouble(q), kd = RefOps.toDouble(k), vd = RefOps.toDouble(vv), rd = RefOps.toDouble(r);
        record("attention forward" + v, RefOps.relError(b.readFloats(out),
                RefOps.attention(qd, kd, vd, seg, batch, t, heads, kvHeads, d, scale)), 1e-5);
        Tensor dq = zeros(rows, heads * d), dk = zeros(rows, kvHeads * d), dv = zeros(rows, kvHeads * d);
        b.attention_backward(qt, kt, vt, st, out, lse, f32(r, rows, heads * d), batch, heads, kvHeads, scale, dq, dk, dv);
        record("attention dq" + v, RefOps.relError(b.readFloats(dq), RefOps.numericGrad(
                x -> RefOps.dot(rd, RefOps.attention(x, kd, vd, seg, batch, t, heads, kvHeads, d, scale)), qd, H)), TOL);
        record("attention dk" + v, RefOps.relError(b.readFloats(dk), RefOps.numericGrad(
                x -> RefOps.dot(rd, RefOps.attention(qd, x, vd, seg, batch, t, heads, kvHeads, d, scale)), kd, H)), TOL);
        record("attention dv" + v, RefOps.relError(b.readFloats(dv), RefOps.numericGrad(
                x -> RefOps.dot(rd, RefOps.attention(qd, kd, x, seg, batch, t, heads, kvHeads, d, scale)), vd, H)), TOL);
    }

    @Test
    void kernels_giveTheSameBitsOnOneAndManyThreads() {
        int m = 300, n = 70, k = 290;
        float[] x = randn(m * k, 1), w = randn(n * k, 1), dy = randn(m * n, 1);
        float[][] res = new float[2][];
        for (int pass = 0; pass < 2; pass++) {
            Backend bb = new CpuBackend(pass == 0 ? 1 : 4);
            Tensor dx = zeros(m, k), dw = zeros(n, k);
            Tensor dyt = f32(dy, m, n), xt = f32(x, m, k);
            bb.matmul_backward_x(dyt, f32(w, n, k), dx, false);
            bb.matmul_backward_w(xt, dyt, dw);
            float[] a = bb.readFloats(dx), c = bb.readFloats(dw);
            res[pass] = new float[a.length + c.length];
            System.arraycopy(a, 0, res[pass], 0, a.length);
            System.arraycopy(c, 0, res[pass], a.length, c.length);
        }
        assertArrayEquals(res[0], res[1]);
    }
}
