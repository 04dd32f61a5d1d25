package dev.fabric.graph;

import dev.fabric.backend.DType;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reverse mode over a {@link Graph}: walks the forward nodes from the loss back, and for each applies its op's
 * backward rule (one per op, in {@link #rule}), appending backward nodes. Where a value fans out its gradient
 * contributions are added; trainable parameters receive theirs through sink nodes that add into the
 * parameter's gradient; frozen parameters and inputs get none, so only dX flows through a frozen matmul.
 *
 * <p>With checkpointing, each layer (graph segment) is recomputed from its inputs just before its backward, and
 * the backward reads the recomputed values: the forward activations inside a layer then die at their last
 * forward use, and only the layer inputs are kept.
 */
public final class Autodiff {
    private final Graph g;
    private final Map<Node, Node> grad = new IdentityHashMap<>();
    private final Map<Node, Node> recomputed = new IdentityHashMap<>();

    private Autodiff(Graph g) {
        this.g = g;
    }

    /** Appends the backward of g's loss to g. */
    public static void backward(Graph g, boolean checkpoint) {
        if (g.loss == null) throw new IllegalStateException("the graph has no loss");
        new Autodiff(g).run(checkpoint);
    }

    private void run(boolean checkpoint) {
        List<Node> fwd = new ArrayList<>(g.nodes());
        g.backwardPart();
        Map<Integer, List<Node>> segments = new HashMap<>();
        for (Node n : fwd) if (n.segment >= 0) segments.computeIfAbsent(n.segment, s -> new ArrayList<>()).add(n);
        int current = Integer.MIN_VALUE;
        for (int i = fwd.size() - 1; i >= 0; i--) {
            Node n = fwd.get(i);
            if (!n.needsGrad) continue;
            if (n != g.loss && !grad.containsKey(n)) continue;  // does not reach the loss
            if (checkpoint && n.segment >= 0 && n.segment != current) {
                current = n.segment;
                recompute(segments.get(n.segment));
            }
            rule(n, grad.get(n));
        }
    }

    /** Copies of a layer's forward nodes, reading the copies of their in-layer inputs. */
    private void recompute(List<Node> layer) {
        for (Node n : layer) {
            if (n.op == OpKind.PARAM || n.op == OpKind.INPUT) continue;
            Node[] in = new Node[n.in.length];
            for (int j = 0; j < in.length; j++) in[j] = saved(n.in[j]);
            recomputed.put(n, g.addRecomputed(n, in));
        }
    }

    /** The value of forward node x as the backward reads it (its recomputed copy, if any). */
    private Node saved(Node x) {
        Node r = recomputed.get(x);
        return r != null ? r : x;
    }

    private void rule(Node n, Node dy) {
        Node[] in = n.in;
        switch (n.op) {
            case GET_ROWS -> {
                if (in[0].needsGrad) sink(OpKind.GET_ROWS_BACKWARD, in[0], dy, in[1]);
            }
            case MATMUL -> {
                if (in[0].needsGrad) {
                    Node dx = g.add(OpKind.MATMUL_BACKWARD_X, in[0].shape.clone(), DType.F32, dy, in[1]);
                    acc(in[0], dx);
                }
                if (in[1].needsGrad) sink(OpKind.MATMUL_BACKWARD_W, in[1], dy, saved(in[0]));
            }
            case RMS_NORM -> {
                Node dx = g.add(OpKind.RMS_NORM_BACKWARD, n.shape.clone(), DType.F32, saved(in[0]), dy);
                dx.eps = n.eps;
                acc(in[0], dx);
            }
            case MUL -> {
                Node a = in[0], b = in[1];
                if (a.needsGrad) acc(a, g.add(OpKind.MUL, a.shape.clone(), DType.F32, dy, saved(b)));
                if (b.needsGrad) {
                    if (b.rows() == a.rows()) acc(b, g.add(OpKind.MUL, b.shape.clone(), DType.F32, dy, saved(a)));
                    else if (b.op == OpKind.PARAM) sink(OpKind.COLUMN_SUM, b, dy, saved(a));
                    else throw new UnsupportedOperationException("gradient of a broadcast activation: " + n);
                }
            }
            case ADD -> {
                Node a = in[0], b = in[1];
                if (a.needsGrad) acc(a, dy);
                if (b.needsGrad) {
                    if (b.rows() == a.rows()) acc(b, dy);
                    else if (b.op == OpKind.PARAM) sink(OpKind.COLUMN_SUM, b, dy);
                    else throw new UnsupportedOperationException("gradient of a broadcast activation: " + n);
                }
            }
            case SCALE -> {
                Node dx = g.add(OpKind.SCALE, n.shape.clone(), DType.F32, dy);
                dx.scale = n.scale;
                acc(in[0], dx);
            }
            case ROPE -> {
                // a rotation by theta; its transpose rotates by -theta (the forward kernel at negated positions)
                Node dx = g.add(OpKind.ROPE_BACKWARD, n.shape.clone(), DType.F32, dy, in[1]);
                n.copyAttrs(dx);
                acc(in[0], dx);
            }
            case ATTENTION -> {
                Node q = in[0], k = in[1], v = in[2];
                long nq = q.numel(), nk = k.numel();
                Node[] ins = in.length == 4 ? new Node[] {saved(q), saved(k), saved(v), saved(n), dy, in[3]}
                        : new Node[] {saved(q), saved(k), saved(v), saved(n), dy};
                Node packed = g.add(OpKind.ATTENTION_BACKWARD, new long[] {nq + 2 * nk}, DType.F32, ins);
                n.copyAttrs(packed);
                if (q.needsGrad) acc(q, slice(packed, 0, q.shape));
                if (k.needsGrad) acc(k, slice(packed, nq, k.shape));
                if (v.needsGrad) acc(v, slice(packed, nq + nk, v.shape));
            }
            case SOFTMAX -> acc(in[0], g.add(OpKind.SOFTMAX_BACKWARD, n.shape.clone(), DType.F32, saved(n), dy));
            case SWIGLU -> {
                long ne = n.numel();
                Node packed = g.add(OpKind.SWIGLU_BACKWARD, new long[] {2 * ne}, DType.F32, saved(in[0]), saved(in[1]), dy);
                if (in[0].needsGrad) acc(in[0], slice(packed, 0, in[0].shape));
                if (in[1].needsGrad) acc(in[1], slice(packed, ne, in[1].shape));
            }
            case DROPOUT -> {
                Node dx = g.add(OpKind.DROPOUT, n.shape.clone(), DType.F32, dy);
                n.copyAttrs(dx);
                acc(in[0], dx);
            }
            case RESHAPE -> acc(in[0], g.add(OpKind.RESHAPE, in[0].shape.clone(), DType.F32, dy));
            case CROSS_ENTROPY -> {
                // the forward wrote dx (and, for a trainable output weight, added dW) chunk by chunk
                if (in[0].needsGrad) acc(in[0], g.add(OpKind.CROSS_ENTROPY_BACKWARD, in[0].shape.clone(), DType.F32, n));
            }
            case PARAM, INPUT -> {
            }
            default -> throw new IllegalStateException("no backward rule for " + n);
        }
    }

    private Node slice(Node packed, long offset, long[] shape) {
        Node s = g.add(OpKind.SLICE, shape.clone(), DType.F32, packed);
        s.offset = offset;
        return s;
    }

    private void sink(OpKind op, Node param, Node... in) {
        Node s = g.add(op, param.shape.clone(), DType.F32, in);
        s.param = param.param;
    }

    /** Adds a gradient contribution for x: a parameter's goes into its gradient, an activation's is summed. */
    private void acc(Node x, Node contribution) {
        if (!x.needsGrad) return;
        if (x.op == OpKind.PARAM) {
            sink(OpKind.GRAD_ACC, x, contribution);
            return;
        }
        Node prev = grad.get(x);
        grad.put(x, prev == null ? contribution : g.add(OpKind.ADD, x.shape.clone(), DType.F32, prev, contribution));
    }
}
