package dev.fabric.graph;

import dev.fabric.backend.Backend;
import dev.fabric.backend.DType;
import dev.fabric.backend.Tensor;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs a {@link Graph} on a {@link Backend}: walks the nodes in order, each node one backend op over whole
 * tensors, its output in the buffer slot the {@link Planner} gave it. Slots are allocated once and reused by
 * every run of the same graph.
 */
public final class Executor implements AutoCloseable {
    /** Loss sum and the number of targets under the loss. */
    public record Result(double lossSum, long targets) {}

    private final Graph g;
    private final Backend b;
    private final Planner plan;
    private final Tensor[] slots;
    private final Tensor logits;
    /** Rows under the loss gathered for one chunk, and their dX before the scatter back. */
    private final Tensor gatherX, gatherDx;
    private final Map<Node, Tensor> values = new IdentityHashMap<>();
    private final Map<Node, Tensor> auxes = new IdentityHashMap<>();
    private final List<Tensor> perRun = new ArrayList<>();
    /** FABRIC_PROFILE=1: time spent per op kind, printed by {@link #close()}. */
    private static final boolean PROFILE = "1".equals(System.getenv("FABRIC_PROFILE"));
    private final Map<OpKind, Long> profile = new java.util.EnumMap<>(OpKind.class);

    public Executor(Graph g, Backend b) {
        this.g = g;
        this.b = b;
        this.plan = new Planner(g);
        slots = new Tensor[plan.slots.size()];
        for (int i = 0; i < slots.length; i++) slots[i] = b.allocate(DType.F32, Math.max(1, plan.slots.get(i) / 4));
        Node l = g.loss;
        long chunk = l == null ? 0 : Math.min(l.chunk, l.in[0].rows());
        logits = l == null ? null : b.allocate(DType.F32, chunk, l.in[1].shape[0]);
        gatherX = l == null ? null : b.allocate(DType.F32, chunk, l.in[0].cols());
        gatherDx = l == null ? null : b.allocate(DType.F32, chunk, l.in[0].cols());
    }

    /** The plan's peak, by category, for this graph. */
    public MemoryPlan memoryPlan(int threads) {
        long weights = 0, copies = 0, grads = 0, trainable = 0;
        java.util.Set<Param> seen = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
        for (Node n : g.nodes()) {
            if (n.op != OpKind.PARAM || !seen.add(n.param)) continue;
            weights += n.param.value().byteSize();
            if (n.param.trainable()) {
                copies += n.param.value().byteSize();
                grads += n.param.grad().byteSize();
                trainable += n.param.numel();
            }
        }
        long scratch = logits == null ? 0 : logits.byteSize() + gatherX.byteSize() + gatherDx.byteSize();
        long maxK = 0, attnRows = 0;
        for (Node n : g.nodes()) {
            if (n.op == OpKind.MATMUL) maxK = Math.max(maxK, Math.min(n.in[1].shape[1], 512));
            if (n.op == OpKind.ATTENTION) attnRows = Math.max(attnRows, n.rows() * n.heads);
        }
        scratch += 4L * 64 * maxK * Math.max(1, threads) + 4L * attnRows;
        return new MemoryPlan(weights, copies, plan.peakForward, plan.peakBackward, grads, 8L * trainable, scratch,
                plan.arenaBytes());
    }

    /**
     * Runs the graph with the inputs bound by node (I32 values), the loss gradient scaled by gradScale, dropout
     * masks drawn from stepSeed. Gradients add into the parameters' gradients.
     */
    public Result run(Map<Node, int[]> inputs, float gradScale, long stepSeed) {
        double loss = 0;
        long count = 0;
        this.inputs = inputs;
        try {
            for (Node n : g.nodes()) {
                switch (n.op) {
                    case INPUT -> {
                        int[] v = inputs.get(n);
                        if (v == null || v.length != n.numel())
                            throw new IllegalArgumentException("input " + n.name + " needs " + n.numel() + " values");
                        Tensor t = b.allocate(DType.I32, n.shape);
                        perRun.add(t);
                        b.write(t, v);
                        values.put(n, t);
                    }
                    case PARAM -> values.put(n, n.param.value());
                    case CROSS_ENTROPY -> {
                        long t0 = System.nanoTime();
                        Backend.CrossEntropy ce = crossEntropy(n, gradScale);
                        loss += ce.lossSum();
                        count += ce.count();
                        if (PROFILE) profile.merge(n.op, System.nanoTime() - t0, Long::sum);
                    }
                    default -> {
                        long t0 = PROFILE ? System.nanoTime() : 0;
                        exec(n, stepSeed);
                        if (PROFILE) profile.merge(n.op, System.nanoTime() - t0, Long::sum);
                    }
                }
            }
            return new Result(loss, count);
        } finally {
            values.clear();
            auxes.clear();
            negatedPositions.clear();
            this.inputs = null;
            perRun.forEach(Tensor::close);
            perRun.clear();
        }
    }

    private Tensor out(Node n) {
        Tensor t = values.get(n);
        if (t != null) return t;
        t = view(plan.value.get(n), n.shape);
        values.put(n, t);
        return t;
    }

    private Tensor aux(Node n, long... shape) {
        Tensor t = auxes.get(n);
        if (t == null) {
            t = view(plan.aux.get(n), shape);
            auxes.put(n, t);
        }
        return t;
    }

    private Tensor view(Planner.Buffer buf, long[] shape) {
        long n = buf.bytes / 4;
        return slots[buf.slot].slice(0, n).reshape(shape);
    }

    private Tensor in(Node n, int i) {
        Tensor t = values.get(n.in[i]);
        if (t == null) throw new IllegalStateException("no value for " + n.in[i] + " (input of " + n + ")");
        return t;
    }

    private void exec(Node n, long stepSeed) {
        switch (n.op) {
            case GET_ROWS -> b.get_rows(in(n, 0), in(n, 1), out(n));
            case MATMUL -> b.matmul(in(n, 0), in(n, 1), out(n));
            case RMS_NORM -> b.rms_norm(in(n, 0), n.eps, out(n));
            case MUL -> b.mul(in(n, 0), in(n, 1), out(n));
            case ADD -> b.add(in(n, 0), in(n, 1), out(n));
            case SCALE -> b.scale(in(n, 0), n.scale, out(n));
            case ROPE -> rope(n, in(n, 1));
            case ROPE_BACKWARD -> rope(n, negated(n.in[1]));
            case ATTENTION -> b.attention_train(in(n, 0), in(n, 1), in(n, 2), n.in.length == 4 ? in(n, 3) : null,
                    n.batch, n.heads, n.kvHeads, n.scale, out(n), aux(n, n.rows() * n.heads));
            case ATTENTION_BACKWARD -> {
                Tensor q = in(n, 0), k = in(n, 1), v = in(n, 2), packed = out(n);
                long nq = q.numel(), nk = k.numel();
                b.attention_backward(q, k, v, n.in.length == 6 ? in(n, 5) : null, in(n, 3), auxes.get(n.in[3]),
                        in(n, 4), n.batch, n.heads, n.kvHeads, n.scale, part(packed, 0, q.shape()),
                        part(packed, nq, k.shape()), part(packed, nq + nk, v.shape()));
            }
            case SOFTMAX -> b.softmax(in(n, 0), out(n));
            case SOFTMAX_BACKWARD -> b.softmax_backward(in(n, 0), in(n, 1), out(n));
            case SWIGLU -> b.swiglu(in(n, 0), in(n, 1), out(n));
            case SWIGLU_BACKWARD -> {
                Tensor gate = in(n, 0), packed = out(n);
                b.swiglu_backward(gate, in(n, 1), in(n, 2), part(packed, 0, gate.shape()),
                        part(packed, gate.numel(), gate.shape()));
            }
            case DROPOUT -> b.dropout(in(n, 0), n.p, n.seed * 0x9E3779B97F4A7C15L + stepSeed, out(n));
            case RESHAPE -> values.put(n, in(n, 0).reshape(n.shape));
            case SLICE -> values.put(n, part(in(n, 0), n.offset, n.shape));
            case CROSS_ENTROPY_BACKWARD -> values.put(n, auxes.get(n.in[0]).reshape(n.shape));
            case MATMUL_BACKWARD_X -> b.matmul_backward_x(in(n, 0), in(n, 1), out(n), false);
            case RMS_NORM_BACKWARD -> b.rms_norm_backward(in(n, 0), in(n, 1), n.eps, out(n));
            case MATMUL_BACKWARD_W -> b.matmul_backward_w(in(n, 1), in(n, 0), n.param.grad());
            case GET_ROWS_BACKWARD -> b.get_rows_backward(in(n, 0), in(n, 1), n.param.grad());
            case COLUMN_SUM -> b.column_sum(in(n, 0), n.in.length > 1 ? in(n, 1) : null, n.param.grad().reshape(1,
                    n.param.numel()));
            case GRAD_ACC -> {
                Tensor gr = n.param.grad();
                b.add(gr, in(n, 0).reshape(gr.shape()), gr);
            }
            default -> throw new IllegalStateException("cannot execute " + n);
        }
    }

    private static Tensor part(Tensor packed, long offset, long[] shape) {
        long n = 1;
        for (long d : shape) n *= d;
        return packed.reshape(packed.numel()).slice(offset, offset + n).reshape(shape);
    }

    private void rope(Node n, Tensor pos) {
        Tensor x = in(n, 0), y = out(n);
        long t = x.rows(), h = n.heads, d = x.cols() / h;
        b.rope(x.reshape(t, h, d), pos, n.nRot, n.theta, n.layout, y.reshape(t, h, d));
    }

    private final Map<Node, Tensor> negatedPositions = new IdentityHashMap<>();
    private Map<Node, int[]> inputs;

    /** Positions negated: rope at -p rotates by -theta, the transpose of the forward rotation. */
    private Tensor negated(Node pos) {
        Tensor t = negatedPositions.get(pos);
        if (t == null) {
            int[] v = inputs.get(pos), neg = new int[v.length];
            for (int i = 0; i < neg.length; i++) neg[i] = -v[i];
            t = b.allocate(DType.I32, pos.numel());
            perRun.add(t);
            b.write(t, neg);
            negatedPositions.put(pos, t);
        }
        return t;
    }

    /**
     * The fused loss, chunk by chunk: logits of a chunk of rows, their loss and (softmax - onehot) * gradScale in
     * place, pushed into dX (and dW for a trainable output weight). Only rows under the loss are computed: when
     * some targets are masked, the chunk's rows are gathered first and their dX scattered back.
     */
    private Backend.CrossEntropy crossEntropy(Node n, float gradScale) {
        Tensor x = in(n, 0), w = in(n, 1), targets = in(n, 2);
        Param wp = n.in[1].param;
        boolean dx = n.in[0].needsGrad, dw = wp.trainable();
        Tensor dxAll = dx ? aux(n, x.shape()) : null;
        int[] tg = inputs.get(n.in[2]);
        int live = 0;
        for (int t : tg) if (t >= 0) live++;
        boolean gather = live < tg.length;
        int[] rows = new int[live], liveTargets = new int[live];
        for (int i = 0, o = 0; i < tg.length; i++)
            if (tg[i] >= 0) {
                rows[o] = i;
                liveTargets[o++] = tg[i];
            }
        if (gather && dx) b.write(dxAll, new float[Math.toIntExact(dxAll.numel())]);
        long total = gather ? live : x.rows(), chunk = logits.dim(0);
        double loss = 0;
        long count = 0;
        for (long r0 = 0; r0 < total; r0 += chunk) {
            long r1 = Math.min(total, r0 + chunk), nr = r1 - r0;
            Tensor xc, tc, ids = null;
            if (gather) {
                ids = b.allocate(DType.I32, nr);
                perRun.add(ids);
                b.write(ids, java.util.Arrays.copyOfRange(rows, (int) r0, (int) r1));
                xc = gatherX.slice(0, nr);
                b.get_rows(x, ids, xc);
                tc = b.allocate(DType.I32, nr);
                perRun.add(tc);
                b.write(tc, java.util.Arrays.copyOfRange(liveTargets, (int) r0, (int) r1));
            } else {
                xc = x.slice(r0, r1);
                tc = targets.slice(r0, r1);
            }
            Tensor lc = logits.slice(0, nr);
            long t0 = PROFILE ? System.nanoTime() : 0;
            b.matmul(xc, w, lc);
            long t1 = PROFILE ? System.nanoTime() : 0;
            Backend.CrossEntropy ce = b.cross_entropy(lc, tc, gradScale);
            loss += ce.lossSum();
            count += ce.count();
            long t2 = PROFILE ? System.nanoTime() : 0;
            if (dx) {
                if (gather) {
                    Tensor dxc = gatherDx.slice(0, nr);
                    b.matmul_backward_x(lc, w, dxc, false);
                    b.get_rows_backward(dxc, ids, dxAll);
                } else {
                    b.matmul_backward_x(lc, w, dxAll.slice(r0, r1), false);
                }
            }
            long t3 = PROFILE ? System.nanoTime() : 0;
            if (dw) b.matmul_backward_w(xc, lc, wp.grad());
            if (PROFILE) {
                profile.merge(OpKind.MATMUL, t1 - t0, Long::sum);
                profile.merge(OpKind.SOFTMAX, t2 - t1, Long::sum);
                profile.merge(OpKind.MATMUL_BACKWARD_X, t3 - t2, Long::sum);
            }
        }
        Tensor l = out(n);
        b.write(l, new float[] {(float) loss});
        return new Backend.CrossEntropy(loss, count);
    }

    @Override
    public void close() {
        if (PROFILE) profile.forEach((op, ns) -> System.err.printf("profile %-22s %9.3f s%n", op, ns / 1e9));
        for (Tensor t : slots) t.close();
        if (logits != null) {
            logits.close();
            gatherX.close();
            gatherDx.close();
        }
    }
}
