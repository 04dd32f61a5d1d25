package dev.fabric.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fabric.gguf.GgmlType;
import dev.fabric.quant.Quantizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.function.ToDoubleFunction;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The op test harness, generic over backends: every registered backend ({@link Backends#providers()}) × every
 * {@link Op} × every type the backend claims for it ({@link Backend#supports}) × odd shapes (one row, widths that
 * are not a multiple of the SIMD width, GQA ratios 1, 2 and 4). Forward results are checked against the portable
 * reference loops ({@link RefOps}); backward kernels against central finite differences (step 1e-3) of that
 * reference in double precision, for the loss L = sum(R * op(x)) with a random R (so the kernel's gradient for
 * dy = R must equal dL/dx).
 *
 * <p><b>A new backend is tested by registering itself</b>: implement {@link BackendProvider}, name the class in
 * {@code META-INF/services/dev.fabric.backend.BackendProvider} of its jar, and have that jar on the test class path
 * where this class runs. A backend in its own module runs this class there: a test dependency on fabric-native's
 * test-jar ({@code <type>test-jar</type>}) and surefire's {@code <dependenciesToScan>dev.fabric:fabric-native
 * </dependenciesToScan>} with {@code <includes>**}{@code /BackendConformanceTest.java</includes>}. Its cases appear
 * under its name, for exactly the (op, type) pairs its {@code supports} claims; nothing else changes.
 * {@link #everyBackendClaimsTheBaseOps} keeps a backend from claiming too little to run a model.
 *
 * <p>Tolerances (normwise: max |got - want| / max |want|, except matmul): F32 element ops 1e-5 (one or two F32
 * roundings of values summed over at most a few dozen terms, ~1e-6); matmul per output |err| <= e_x * sum |w x|
 * + 1e-5 * sum |w x|, e_x the rounding of x the kernel may do for the weight type (0 for F32, 2^-10 for F16, 2^-8
 * for BF16) and for block-quantized weights (x quantized to 8 bits) |err| <= max|x| / 127 * sum |w| + 1e-5 * sum
 * |w x|; attention over an F16 cache 1e-3 against the F16-numerics reference (V sums rounded to F16, 2^-11 per
 * step, re-done the same way in the reference); get_rows and copy equal to the stored values within 1e-6.
 * Backward: 1e-4 normwise, as GradOpsTest (F32 sums of a few hundred terms, ~1e-6, and the h^2 f'''/6 error of
 * central differences, ~1e-7 here).
 */
class BackendConformanceTest {
    private static final Map<String, Backend> OPEN = new LinkedHashMap<>();
    private static final Map<String, Double> WORST = new TreeMap<>();
    private static final double H = 1e-3, GRAD_TOL = 1e-4;
    private final List<Tensor> tensors = new ArrayList<>();
    private final Random rnd = new Random(7);
    private Backend b;

    private static synchronized Backend backend(String name) {
        return OPEN.computeIfAbsent(name, n -> Backends.provider(n).open(2));
    }

    static List<String> backendNames() {
        return Backends.providers().stream().filter(BackendProvider::usable).map(BackendProvider::name).toList();
    }

    @AfterEach
    void closeTensors() {
        tensors.forEach(Tensor::close);
        tensors.clear();
    }

    @AfterAll
    static void report() {
        WORST.forEach((k, e) -> System.out.printf("CONFORMANCE %-40s largest error %.3e%n", k, e));
        OPEN.values().forEach(Backend::close);
        OPEN.clear();
    }

    private static synchronized void record(String what, double err, double tol) {
        WORST.merge(what, err, Math::max);
        assertTrue(err <= tol, what + ": error " + err + " > " + tol);
    }

    // ---- cases ---------------------------------------------------------------------------------------------

    /** Shapes per op: the meaning of the ints is the op's (see each check). */
    static List<int[]> shapes(Op op, DType type) {
        int blk = type.blockSize();
        return switch (op) {
            // m, n, k: one row and several; k odd for plain types, whole blocks for block types
            case MATMUL -> blk == 1 ? List.of(new int[] {1, 7, 37}, new int[] {5, 3, 19}, new int[] {2, 17, 16})
                    : List.of(new int[] {1, 5, 3 * blk}, new int[] {4, 3, 2 * blk});
            // table rows, cols, ids
            case GET_ROWS -> List.of(new int[] {7, blk == 1 ? 37 : 2 * blk, 4}, new int[] {3, blk == 1 ? 1 : blk, 1});
            // rows, width
            case RMS_NORM, SOFTMAX, SWIGLU, ADD, MUL, SCALE, COPY, DROPOUT, CROSS_ENTROPY ->
                    List.of(new int[] {1, 37}, new int[] {3, 19}, new int[] {4, 1});
            // tokens, heads, headDim, nRot, layout (0 normal, 1 neox)
            case ROPE -> List.of(new int[] {1, 2, 10, 10, 0}, new int[] {3, 3, 12, 6, 1}, new int[] {2, 1, 18, 18, 1},
                    new int[] {3, 2, 14, 8, 0});
            // nQ, nKv, heads, kvHeads, d: GQA ratios 1, 2 and 4, one query and several
            case ATTENTION -> List.of(new int[] {1, 5, 2, 2, 20}, new int[] {3, 7, 4, 2, 20}, new int[] {2, 2, 4, 1, 12},
                    new int[] {4, 9, 8, 2, 17});
            // batch, t, heads, kvHeads, d
            case ATTENTION_TRAIN -> List.of(new int[] {1, 1, 2, 2, 8}, new int[] {2, 5, 2, 1, 12},
                    new int[] {1, 6, 4, 1, 10}, new int[] {2, 4, 4, 4, 6});
        };
    }

    static Stream<Arguments> forwardCases() {
        List<Arguments> a = new ArrayList<>();
        for (String name : backendNames()) {
            Backend be = backend(name);
            for (Op op : Op.values())
                for (DType t : DType.values())
                    if (be.supports(op, t)) for (int[] s : shapes(op, t)) a.add(Arguments.of(name, op, t, s));
        }
        return a.stream();
    }

    static boolean hasBackward(Op op, DType t) {
        return switch (op) {
            case ATTENTION, COPY, DROPOUT -> false;   // inference-only; dropout: see dropout_isItsOwnBackward
            case GET_ROWS -> t == DType.F32;          // a trained table is F32; quantized tables are frozen
            default -> true;
        };
    }

    static Stream<Arguments> backwardCases() {
        return forwardCases().filter(x -> hasBackward((Op) x.get()[1], (DType) x.get()[2]));
    }

    @Test
    void everyBackendClaimsTheBaseOps() {
        assertFalse(backendNames().isEmpty(), "no backend registered");
        for (String name : backendNames()) {
            Backend be = backend(name);
            for (Op op : Op.values()) assertTrue(be.supports(op, DType.F32) || op == Op.COPY && be.supports(op, DType.F16),
                    name + " does not run " + op + " on F32");
            assertFalse(be.supports(Op.RMS_NORM, DType.I32), name + " claims rms_norm on I32");
        }
    }

    @ParameterizedTest(name = "{0} {1} {2} {3}")
    @MethodSource("forwardCases")
    void forward_matchesTheReference(String backendName, Op op, DType type, int[] s) {
        b = backend(backendName);
        String key = backendName + " " + op.kernelName() + " " + type;
        switch (op) {
            case MATMUL -> matmulForward(key, type, s[0], s[1], s[2]);
            case GET_ROWS -> {
                int rows = s[0], cols = s[1];
                Stored w = weight(type, randn(rows * cols, 1), rows, cols);
                int[] ids = ids(s[2], rows);
                Tensor out = zeros(ids.length, cols);
                b.get_rows(w.t, i32(ids), out);
                record(key, RefOps.relError(b.readFloats(out), RefOps.getRows(d(w.values), cols, ids)), 1e-6);
            }
            case COPY -> {
                float[] x = randn(s[0] * s[1], 3);
                Tensor dst = alloc(type, s[0], s[1]);
                b.copy(f32(x, s[0], s[1]), dst);
                double[] want = new double[x.length];
                for (int i = 0; i < x.length; i++) want[i] = RefOps.roundTo(type, x[i]);
                record(key, RefOps.relError(readAsF32(dst, s[0], s[1]), want), 1e-6);
            }
            case RMS_NORM -> {
                float[] x = randn(s[0] * s[1], 2);
                Tensor y = zeros(s[0], s[1]);
                b.rms_norm(f32(x, s[0], s[1]), 1e-5f, y);
                record(key, RefOps.relError(b.readFloats(y), RefOps.rmsNorm(d(x), s[0], s[1], 1e-5f)), 1e-5);
            }
            case SOFTMAX -> {
                float[] x = randn(s[0] * s[1], 3);
                Tensor y = zeros(s[0], s[1]);
                b.softmax(f32(x, s[0], s[1]), y);
                record(key, RefOps.relError(b.readFloats(y), RefOps.softmax(d(x), s[0], s[1])), 1e-5);
            }
            case SWIGLU -> {
                float[] g = randn(s[0] * s[1], 3), u = randn(s[0] * s[1], 1);
                Tensor y = zeros(s[0], s[1]);
                b.swiglu(f32(g, s[0], s[1]), f32(u, s[0], s[1]), y);
                record(key, RefOps.relError(b.readFloats(y), RefOps.swiglu(d(g), d(u))), 1e-5);
            }
            case ADD, MUL -> {
                float[] a = randn(s[0] * s[1], 1), bb = randn(s[1], 1);
                Tensor y = zeros(s[0], s[1]);
                if (op == Op.ADD) b.add(f32(a, s[0], s[1]), f32(bb, 1, s[1]), y);
                else b.mul(f32(a, s[0], s[1]), f32(bb, 1, s[1]), y);
                double[] want = op == Op.ADD ? RefOps.add(d(a), d(bb)) : RefOps.mul(d(a), d(bb));
                record(key, RefOps.relError(b.readFloats(y), want), 1e-6);
            }
            case SCALE -> {
                float[] a = randn(s[0] * s[1], 1);
                Tensor y = zeros(s[0], s[1]);
                b.scale(f32(a, s[0], s[1]), -0.37f, y);
                record(key, RefOps.relError(b.readFloats(y), RefOps.scale(d(a), -0.37f)), 1e-6);
            }
            case ROPE -> {
                int t = s[0], heads = s[1], hd = s[2], nRot = s[3];
                boolean neox = s[4] == 1;
                float[] x = randn(t * heads * hd, 1);
                int[] pos = positions(t);
                Tensor y = zeros(t, heads, hd);
                b.rope(f32(x, t, heads, hd), i32(pos), nRot, 10000f, neox ? RopeLayout.NEOX : RopeLayout.NORMAL, y);
                record(key, RefOps.relError(b.readFloats(y), RefOps.rope(d(x), t, heads, hd, nRot, pos, 10000f, neox)),
                        1e-5);
            }
            case ATTENTION -> attentionForward(key, type, s[0], s[1], s[2], s[3], s[4]);
            case ATTENTION_TRAIN -> {
                Attn a = attnTrain(s);
                double[] want = RefOps.attention(d(a.q), d(a.k), d(a.v), a.seg, a.batch, a.t, a.heads, a.kvHeads, a.d,
                        a.scale);
                record(key, RefOps.relError(b.readFloats(a.out), want), 1e-5);
            }
            case DROPOUT -> dropout(key, s[0] * s[1] * 50);
            case CROSS_ENTROPY -> {
                int rows = s[0], vocab = s[1];
                float[] logits = randn(rows * vocab, 2);
                int[] targets = targets(rows, vocab);
                Backend.CrossEntropy ce = b.cross_entropy(f32(logits, rows, vocab), i32(targets), 1f);
                double want = RefOps.crossEntropy(d(logits), rows, vocab, targets);
                long count = Arrays.stream(targets).filter(x -> x >= 0).count();
                assertEquals(count, ce.count(), key + " count");
                record(key, Math.abs(ce.lossSum() - want) / Math.max(Math.abs(want), 1e-30), 1e-5);
            }
        }
    }

    @ParameterizedTest(name = "{0} {1} {2} {3}")
    @MethodSource("backwardCases")
    void backward_matchesFiniteDifferences(String backendName, Op op, DType type, int[] s) {
        b = backend(backendName);
        String key = backendName + " " + op.kernelName() + "_backward " + type;
        switch (op) {
            case MATMUL -> {
                int m = s[0], n = s[1], k = s[2];
                Stored w = weight(type, randn(n * k, 0.5), n, k);
                float[] x = randn(m * k, 1), r = randn(m * n, 1);
                Tensor dx = zeros(m, k);
                b.matmul_backward_x(f32(r, m, n), w.t, dx, false);
                double[] wd = d(w.values);
                grad(key + " dx", dx, x, xs -> RefOps.dot(d(r), RefOps.matmul(xs, m, k, wd, n)));
                if (type == DType.F32) {
                    Tensor dw = zeros(n, k);
                    b.matmul_backward_w(f32(x, m, k), f32(r, m, n), dw);
                    grad(key + " dw", dw, w.values, ws -> RefOps.dot(d(r), RefOps.matmul(d(x), m, k, ws, n)));
                }
            }
            case GET_ROWS -> {
                int rows = s[0], cols = s[1];
                float[] table = randn(rows * cols, 1);
                int[] ids = ids(s[2], rows);
                float[] r = randn(ids.length * cols, 1);
                Tensor dt = zeros(rows, cols);
                b.get_rows_backward(f32(r, ids.length, cols), i32(ids), dt);
                grad(key, dt, table, ts -> RefOps.dot(d(r), RefOps.getRows(ts, cols, ids)));
            }
            case RMS_NORM -> {
                float[] x = randn(s[0] * s[1], 2), r = randn(s[0] * s[1], 1);
                Tensor dx = zeros(s[0], s[1]);
                b.rms_norm_backward(f32(x, s[0], s[1]), f32(r, s[0], s[1]), 1e-5f, dx);
                grad(key, dx, x, xs -> RefOps.dot(d(r), RefOps.rmsNorm(xs, s[0], s[1], 1e-5f)));
            }
            case SOFTMAX -> {
                float[] x = randn(s[0] * s[1], 2), r = randn(s[0] * s[1], 1);
                Tensor y = zeros(s[0], s[1]), dx = zeros(s[0], s[1]);
                b.softmax(f32(x, s[0], s[1]), y);
                b.softmax_backward(y, f32(r, s[0], s[1]), dx);
                grad(key, dx, x, xs -> RefOps.dot(d(r), RefOps.softmax(xs, s[0], s[1])));
            }
            case SWIGLU -> {
                int n = s[0] * s[1];
                float[] g = randn(n, 2), u = randn(n, 1), r = randn(n, 1);
                Tensor dg = zeros(s[0], s[1]), du = zeros(s[0], s[1]);
                b.swiglu_backward(f32(g, s[0], s[1]), f32(u, s[0], s[1]), f32(r, s[0], s[1]), dg, du);
                grad(key + " dgate", dg, g, gs -> RefOps.dot(d(r), RefOps.swiglu(gs, d(u))));
                grad(key + " dup", du, u, us -> RefOps.dot(d(r), RefOps.swiglu(d(g), us)));
            }
            case ADD, MUL -> {
                float[] a = randn(s[0] * s[1], 1), bb = randn(s[1], 1), r = randn(s[0] * s[1], 1);
                Tensor rt = f32(r, s[0], s[1]), at = f32(a, s[0], s[1]), bt = f32(bb, 1, s[1]);
                Tensor da = zeros(s[0], s[1]), db = zeros(1, s[1]);
                boolean add = op == Op.ADD;
                if (add) b.scale(rt, 1f, da);
                else b.mul(rt, bt, da);                  // da = dy * b, the graph's rule
                b.column_sum(rt, add ? null : at, db);    // db = column sums of dy (* a)
                ToDoubleFunction<double[]> fa = as -> RefOps.dot(d(r), add ? RefOps.add(as, d(bb)) : RefOps.mul(as, d(bb)));
                ToDoubleFunction<double[]> fb = bs -> RefOps.dot(d(r), add ? RefOps.add(d(a), bs) : RefOps.mul(d(a), bs));
                grad(key + " da", da, a, fa);
                grad(key + " db", db, bb, fb);
            }
            case SCALE -> {
                float[] a = randn(s[0] * s[1], 1), r = randn(s[0] * s[1], 1);
                Tensor da = zeros(s[0], s[1]);
                b.scale(f32(r, s[0], s[1]), -0.37f, da);
                grad(key, da, a, as -> RefOps.dot(d(r), RefOps.scale(as, -0.37f)));
            }
            case ROPE -> {
                // the graph's rule: the input gradient is rope at the negated positions (the rotation's transpose)
                int t = s[0], heads = s[1], hd = s[2], nRot = s[3];
                boolean neox = s[4] == 1;
                float[] x = randn(t * heads * hd, 1), r = randn(t * heads * hd, 1);
                int[] pos = positions(t), neg = Arrays.stream(pos).map(p -> -p).toArray();
                Tensor dx = zeros(t, heads, hd);
                b.rope(f32(r, t, heads, hd), i32(neg), nRot, 10000f, neox ? RopeLayout.NEOX : RopeLayout.NORMAL, dx);
                grad(key, dx, x, xs -> RefOps.dot(d(r), RefOps.rope(xs, t, heads, hd, nRot, pos, 10000f, neox)));
            }
            case ATTENTION_TRAIN -> {
                Attn a = attnTrain(s);
                float[] r = randn(a.q.length, 1);
                Tensor dq = zeros(a.rows, a.heads * a.d), dk = zeros(a.rows, a.kvHeads * a.d),
                        dv = zeros(a.rows, a.kvHeads * a.d);
                b.attention_backward(a.qt, a.kt, a.vt, a.segt, a.out, a.lse, f32(r, a.rows, a.heads * a.d), a.batch,
                        a.heads, a.kvHeads, a.scale, dq, dk, dv);
                grad(key + " dq", dq, a.q, qs -> RefOps.dot(d(r), RefOps.attention(qs, d(a.k), d(a.v), a.seg, a.batch,
                        a.t, a.heads, a.kvHeads, a.d, a.scale)));
                grad(key + " dk", dk, a.k, ks -> RefOps.dot(d(r), RefOps.attention(d(a.q), ks, d(a.v), a.seg, a.batch,
                        a.t, a.heads, a.kvHeads, a.d, a.scale)));
                grad(key + " dv", dv, a.v, vs -> RefOps.dot(d(r), RefOps.attention(d(a.q), d(a.k), vs, a.seg, a.batch,
                        a.t, a.heads, a.kvHeads, a.d, a.scale)));
            }
            case CROSS_ENTROPY -> {
                int rows = s[0], vocab = s[1];
                float[] logits = randn(rows * vocab, 2);
                int[] targets = targets(rows, vocab);
                Tensor lt = f32(logits, rows, vocab);
                b.cross_entropy(lt, i32(targets), 1f);   // the logits become their gradient
                grad(key, lt, logits, ls -> RefOps.crossEntropy(ls, rows, vocab, targets));
            }
            default -> throw new AssertionError("no backward check for " + op);
        }
    }

    // ---- op checks too long for the switch ------------------------------------------------------------------

    private void matmulForward(String key, DType type, int m, int n, int k) {
        Stored w = weight(type, randn(n * k, 0.5), n, k);
        float[] x = randn(m * k, 1);
        Tensor y = zeros(m, n);
        b.matmul(f32(x, m, k), w.t, y);
        float[] got = b.readFloats(y);
        double ex = type == DType.F16 ? 0x1p-10 : type == DType.BF16 ? 0x1p-8 : 0;
        double worst = 0;
        for (int r = 0; r < m; r++) {
            double amax = 0;
            for (int i = 0; i < k; i++) amax = Math.max(amax, Math.abs(x[r * k + i]));
            for (int c = 0; c < n; c++) {
                double want = 0, wx = 0, wabs = 0;
                for (int i = 0; i < k; i++) {
                    double wi = w.values[c * k + i];
                    want += wi * x[r * k + i];
                    wx += Math.abs(wi * x[r * k + i]);
                    wabs += Math.abs(wi);
                }
                double tol = (type.isQuantized() ? amax / 127 * wabs : ex * wx) + 1e-5 * wx + 1e-6;
                worst = Math.max(worst, Math.abs(got[r * n + c] - want) / tol);
            }
        }
        record(key + " (error / bound)", worst, 1);
    }

    private void attentionForward(String key, DType type, int nQ, int nKv, int heads, int kvHeads, int d) {
        float[] q = randn(nQ * heads * d, 1), k = randn(nKv * kvHeads * d, 1), v = randn(nKv * kvHeads * d, 1);
        Tensor kt = alloc(type, nKv, kvHeads, d), vt = alloc(type, nKv, kvHeads, d);
        b.copy(f32(k, nKv, kvHeads, d), kt);
        b.copy(f32(v, nKv, kvHeads, d), vt);
        float[] ks = k.clone(), vs = v.clone();
        for (int i = 0; i < ks.length; i++) {
            ks[i] = RefOps.roundTo(type, k[i]);
            vs[i] = RefOps.roundTo(type, v[i]);
        }
        Tensor out = zeros(nQ, heads, d);
        float scale = (float) (1 / Math.sqrt(d));
        b.attention(f32(q, nQ, heads, d), kt, vt, nKv, nKv - nQ, scale, out);
        double[] want = RefOps.attentionCached(q, nQ, heads, d, ks, vs, nKv, kvHeads, nKv - nQ, scale,
                type == DType.F16);
        record(key, RefOps.relError(b.readFloats(out), want), type == DType.F16 ? 1e-3 : 1e-5);
    }

    private void dropout(String key, int n) {
        float p = 0.25f;
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = 1 + rnd.nextFloat();
        Tensor y = zeros(n);
        b.dropout(f32(x, n), p, 1234, y);
        float[] got = b.readFloats(y);
        int dropped = 0;
        for (int i = 0; i < n; i++) {
            if (got[i] == 0) dropped++;
            else assertEquals(x[i] / (1 - p), got[i], 1e-6 * got[i], key + " kept value " + i);
        }
        // binomial(n, p): 5 standard deviations either side
        double sd = Math.sqrt(n * p * (1 - p));
        assertTrue(Math.abs(dropped - n * p) <= 5 * sd, key + ": dropped " + dropped + " of " + n);
        record(key + " dropped fraction - p", Math.abs((double) dropped / n - p), 5 * sd / n);
    }

    /** Dropout's backward is the same call on dy (same seed: same mask), which this checks on every backend. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("backendNames")
    void dropout_isItsOwnBackward(String backendName) {
        b = backend(backendName);
        int n = 999;
        float[] x = new float[n], dy = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = 1 + rnd.nextFloat();
            dy[i] = 1 + rnd.nextFloat();
        }
        Tensor y = zeros(n), dx = zeros(n);
        b.dropout(f32(x, n), 0.4f, 99, y);
        b.dropout(f32(dy, n), 0.4f, 99, dx);
        float[] ys = b.readFloats(y), dxs = b.readFloats(dx);
        for (int i = 0; i < n; i++) assertEquals(ys[i] == 0, dxs[i] == 0, "mask differs at " + i);
    }

    // ---- helpers ---------------------------------------------------------------------------------------------

    /** Checks a backend gradient against central differences of f at x (in double). */
    private void grad(String key, Tensor got, float[] x, ToDoubleFunction<double[]> f) {
        double[] want = RefOps.numericGrad(f, d(x), H);
        record(key, RefOps.relError(b.readFloats(got), want), GRAD_TOL);
    }

    private record Stored(Tensor t, float[] values) {}

    /** A weight of this type on the backend, and the values it holds (the reference's w). */
    private Stored weight(DType type, float[] wf, int rows, int cols) {
        Tensor w = alloc(type, rows, cols);
        float[] values = new float[wf.length];
        if (type.isQuantized()) {
            GgmlType qt = type.ggmlType();
            byte[] q = Quantizer.quantize(qt, wf, rows, cols, null, 1);
            b.write(w, q);
            values = Quantizer.dequantize(qt, q, rows, cols, 1);
        } else if (type == DType.F32) {
            b.write(w, wf);
            values = wf.clone();
        } else {
            b.copy(f32(wf, rows, cols), w);
            for (int i = 0; i < wf.length; i++) values[i] = RefOps.roundTo(type, wf[i]);
        }
        return new Stored(w, values);
    }

    /** Any tensor's values as F32, through the backend's own get_rows (works where the host cannot map it). */
    private float[] readAsF32(Tensor t, int rows, int cols) {
        Tensor out = zeros(rows, cols);
        int[] ids = new int[rows];
        for (int i = 0; i < rows; i++) ids[i] = i;
        b.get_rows(t, i32(ids), out);
        return b.readFloats(out);
    }

    private record Attn(float[] q, float[] k, float[] v, int[] seg, Tensor qt, Tensor kt, Tensor vt, Tensor segt,
            Tensor out, Tensor lse, int batch, int t, int heads, int kvHeads, int d, int rows, float scale) {}

    /** Runs attention_train on random q, k, v with two segments per sequence where t allows. */
    private Attn attnTrain(int[] s) {
        int batch = s[0], t = s[1], heads = s[2], kvHeads = s[3], d = s[4], rows = batch * t;
        float[] q = randn(rows * heads * d, 1), k = randn(rows * kvHeads * d, 1), v = randn(rows * kvHeads * d, 1);
        int[] seg = new int[rows];
        for (int i = 0; i < rows; i++) seg[i] = (i % t) < (t + 1) / 2 ? 0 : 1;
        float scale = (float) (1 / Math.sqrt(d));
        Tensor qt = f32(q, rows, heads * d), kt = f32(k, rows, kvHeads * d), vt = f32(v, rows, kvHeads * d),
                segt = i32(seg), out = zeros(rows, heads * d), lse = zeros(rows, heads);
        b.attention_train(qt, kt, vt, segt, batch, heads, kvHeads, scale, out, lse);
        return new Attn(q, k, v, seg, qt, kt, vt, segt, out, lse, batch, t, heads, kvHeads, d, rows, scale);
    }

    private int[] ids(int n, int rows) {
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) ids[i] = i == 0 ? rows - 1 : rnd.nextInt(rows);
        return ids;
    }

    private static int[] positions(int t) {
        int[] pos = new int[t];
        for (int i = 0; i < t; i++) pos[i] = 3 + 5 * i;
        return pos;
    }

    private int[] targets(int rows, int vocab) {
        int[] targets = new int[rows];
        for (int r = 0; r < rows; r++) targets[r] = r == 1 ? -1 : rnd.nextInt(vocab);
        return targets;
    }

    private float[] randn(int n, double scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (scale * rnd.nextGaussian());
        return v;
    }

    private static double[] d(float[] f) {
        return RefOps.toDouble(f);
    }

    private Tensor alloc(DType type, long... shape) {
        Tensor t = b.allocate(type, shape);
        tensors.add(t);
        return t;
    }

    private Tensor zeros(long... shape) {
        return alloc(DType.F32, shape);
    }

    private Tensor f32(float[] v, long... shape) {
        Tensor t = zeros(shape);
        b.write(t, v);
        return t;
    }

    private Tensor i32(int[] v) {
        Tensor t = alloc(DType.I32, v.length);
        b.write(t, v);
        return t;
    }
}
