package dev.fabric.graph;

import dev.fabric.backend.DType;
import dev.fabric.backend.RopeLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;

/**
 * A computation as a list of coarse ops ({@link Node}s) in schedule order, built with the methods below (each
 * checks shapes once, here). Model code builds the forward part; {@link Autodiff} appends the backward part.
 * Activations are F32 and 2-D [rows, cols] unless said otherwise; ids, positions and targets are I32.
 */
public final class Graph {
    private final List<Node> nodes = new ArrayList<>();
    private int segment = -1;
    private boolean forward = true;
    Node loss;

    public List<Node> nodes() {
        return Collections.unmodifiableList(nodes);
    }

    /** Later nodes belong to layer {@code s} (gradient checkpointing recomputes a layer as a unit); -1 ends it. */
    public void segment(int s) {
        segment = s;
    }

    /** The loss node, once {@link #crossEntropy} has been added. */
    public Node loss() {
        return loss;
    }

    Node add(OpKind op, long[] shape, DType type, Node... in) {
        Node n = new Node(nodes.size(), op, in, shape, type, forward ? segment : -1, forward);
        for (Node i : in) if (i != null && i.needsGrad) n.needsGrad = true;
        nodes.add(n);
        return n;
    }

    /** Appends backward nodes from now on (Autodiff). */
    void backwardPart() {
        forward = false;
    }

    /** Appends a node in the forward part's role (a recomputed copy), outside any segment. */
    Node addRecomputed(Node original, Node[] in) {
        boolean f = forward;
        forward = true;
        int s = segment;
        segment = -1;
        Node n = add(original.op, original.shape, original.type, in);
        original.copyAttrs(n);
        n.needsGrad = original.needsGrad;
        segment = s;
        forward = f;
        return n;
    }

    // ---- leaves ----------------------------------------------------------------------------------------

    public Node input(String name, DType type, long... shape) {
        Node n = add(OpKind.INPUT, shape.clone(), type);
        n.name = name;
        return n;
    }

    public Node param(Param p) {
        Node n = add(OpKind.PARAM, p.shape(), p.value().type());
        n.param = p;
        n.needsGrad = p.trainable();
        return n;
    }

    // ---- forward ops -----------------------------------------------------------------------------------

    /** table[ids] as F32 [n, cols]. */
    public Node getRows(Node table, Node ids) {
        need(table.op == OpKind.PARAM && table.shape.length == 2, "get_rows: the table must be a 2-D parameter", table);
        need(ids.type == DType.I32, "get_rows: ids must be I32", ids);
        return add(OpKind.GET_ROWS, new long[] {ids.numel(), table.shape[1]}, DType.F32, table, ids);
    }

    /** x [m, k] . w[n, k]^T, w a parameter in its stored type. */
    public Node matmul(Node x, Node w) {
        need(w.op == OpKind.PARAM && w.shape.length == 2, "matmul: the weight must be a 2-D parameter", w);
        f32(x);
        need(x.cols() == w.shape[1], "matmul: x " + Arrays.toString(x.shape) + " does not fit", w);
        return add(OpKind.MATMUL, new long[] {x.rows(), w.shape[0]}, DType.F32, x, w);
    }

    public Node rmsNorm(Node x, float eps) {
        f32(x);
        Node n = add(OpKind.RMS_NORM, x.shape.clone(), DType.F32, x);
        n.eps = eps;
        return n;
    }

    /** a * b, b's rows repeating over a's (b [n] or [r, n] with r dividing a's rows). */
    public Node mul(Node a, Node b) {
        broadcast("mul", a, b);
        return add(OpKind.MUL, a.shape.clone(), DType.F32, a, b);
    }

    /** a + b, b's rows repeating over a's. */
    public Node add(Node a, Node b) {
        broadcast("add", a, b);
        return add(OpKind.ADD, a.shape.clone(), DType.F32, a, b);
    }

    public Node scale(Node a, float s) {
        f32(a);
        Node n = add(OpKind.SCALE, a.shape.clone(), DType.F32, a);
        n.scale = s;
        return n;
    }

    /** Rotary embedding of x [tokens, heads * headDim] at positions pos (I32 [tokens]). */
    public Node rope(Node x, Node pos, int heads, int nRot, float theta, RopeLayout layout) {
        f32(x);
        need(pos.type == DType.I32 && pos.numel() == x.rows() && x.cols() % heads == 0, "rope: positions", pos);
        Node n = add(OpKind.ROPE, x.shape.clone(), DType.F32, x, pos);
        n.heads = heads;
        n.nRot = nRot;
        n.theta = theta;
        n.layout = layout;
        return n;
    }

    /**
     * Causal GQA attention over {@code batch} sequences: q [batch * t, heads * d], k and v [batch * t, kvHeads * d],
     * seg (I32 [batch * t] segment ids, or null) masks attention across packed examples.
     */
    public Node attention(Node q, Node k, Node v, Node seg, int batch, int heads, int kvHeads, float scale) {
        f32(q);
        f32(k);
        f32(v);
        long d = q.cols() / heads;
        need(d * heads == q.cols() && k.cols() == kvHeads * d && Arrays.equals(k.shape, v.shape) && k.rows() == q.rows()
                && q.rows() % batch == 0 && heads % kvHeads == 0, "attention: shapes q/k/v", q);
        Node n = seg == null ? add(OpKind.ATTENTION, q.shape.clone(), DType.F32, q, k, v)
                : add(OpKind.ATTENTION, q.shape.clone(), DType.F32, q, k, v, seg);
        n.batch = batch;
        n.heads = heads;
        n.kvHeads = kvHeads;
        n.scale = scale;
        return n;
    }

    public Node softmax(Node x) {
        f32(x);
        return add(OpKind.SOFTMAX, x.shape.clone(), DType.F32, x);
    }

    public Node swiglu(Node gate, Node up) {
        f32(gate);
        need(Arrays.equals(gate.shape, up.shape), "swiglu: gate and up differ", up);
        return add(OpKind.SWIGLU, gate.shape.clone(), DType.F32, gate, up);
    }

    /** Inverted dropout with probability p, mask from the seed (the executor mixes in the call's step seed). */
    public Node dropout(Node x, float p, long seed) {
        f32(x);
        if (p == 0) return x;
        Node n = add(OpKind.DROPOUT, x.shape.clone(), DType.F32, x);
        n.p = p;
        n.seed = seed;
        return n;
    }

    public Node reshape(Node x, long... shape) {
        Node n = add(OpKind.RESHAPE, shape.clone(), x.type, x);
        need(n.numel() == x.numel(), "reshape to " + Arrays.toString(shape), x);
        return n;
    }

    /**
     * The loss: logits = x . w^T in chunks of {@code chunk} rows, masked cross-entropy against targets (I32 [rows],
     * negative = not under the loss). Its value is the loss sum [1]; the graph's one loss.
     */
    public Node crossEntropy(Node x, Node w, Node targets, int chunk) {
        f32(x);
        need(w.op == OpKind.PARAM && w.shape.length == 2 && w.shape[1] == x.cols(), "cross_entropy: output weight", w);
        need(targets.type == DType.I32 && targets.numel() == x.rows(), "cross_entropy: targets", targets);
        if (loss != null) throw new IllegalStateException("the graph already has a loss");
        Node n = add(OpKind.CROSS_ENTROPY, new long[] {1}, DType.F32, x, w, targets);
        n.chunk = Math.max(1, chunk);
        loss = n;
        return n;
    }

    // ---- composite -------------------------------------------------------------------------------------

    /** One LoRA term of a linear layer: y += scale * B (A dropout(x)). */
    public record Lora(Node a, Node b, float scale, float dropout, long seed) {}

    /**
     * y = x . w^T (+ bias) + sum of scale * B (A x): the LoRA path computes A x first (rank r) and scales it there,
     * where it is r wide rather than n_out.
     */
    public Node linear(Node x, Node w, Node bias, List<Lora> loras) {
        Node y = matmul(x, w);
        for (Lora l : loras) {
            Node xin = l.dropout() > 0 ? dropout(x, l.dropout(), l.seed()) : x;
            Node ax = matmul(xin, l.a());
            y = add(y, matmul(l.scale() == 1f ? ax : scale(ax, l.scale()), l.b()));
        }
        if (bias != null) y = add(y, bias);
        return y;
    }

    /**
     * Floating-point operations the kernels perform for one run (multiply and add counted as 2): matmuls and their
     * gradients 2mnk; attention 2 t^2 d per head and sequence forward (causal half of QK^T and PV), 7 t^2 d backward
     * (scores recomputed in both of its passes); the fused loss 2 t V E for the logits, again for dX and for dW.
     * Elementwise ops are left out (a few flops per element, memory-bound).
     */
    public long flops() {
        long f = 0;
        for (Node n : nodes) {
            switch (n.op) {
                case MATMUL -> f += 2 * n.rows() * n.cols() * n.in[0].cols();
                case MATMUL_BACKWARD_X -> f += 2 * n.rows() * n.cols() * n.in[0].cols();
                case MATMUL_BACKWARD_W -> f += 2 * n.in[0].rows() * n.in[0].cols() * n.in[1].cols();
                case ATTENTION, ATTENTION_BACKWARD -> {
                    long t = n.in[0].rows() / n.batch, d = n.in[0].cols() / n.heads;
                    f += (n.op == OpKind.ATTENTION ? 2 : 7) * t * t * d * n.heads * n.batch;
                }
                case CROSS_ENTROPY -> {
                    long rows = n.in[0].rows(), v = n.in[1].shape[0], e = n.in[0].cols();
                    f += 2 * rows * v * e * (1 + (n.in[0].needsGrad ? 1 : 0) + (n.in[1].needsGrad ? 1 : 0));
                }
                default -> {
                }
            }
        }
        return f;
    }

    // ---- checks ----------------------------------------------------------------------------------------

    private static void f32(Node x) {
        need(x.type == DType.F32, "expected an F32 activation", x);
    }

    private static void broadcast(String op, Node a, Node b) {
        f32(a);
        f32(b);
        need(a.cols() == b.cols() && b.rows() > 0 && a.rows() % b.rows() == 0, op + ": " + a + " and " + b + " do not fit", b);
    }

    private static void need(boolean ok, String what, Node n) {
        if (!ok) throw new IllegalArgumentException(what + ": " + n);
    }
}
