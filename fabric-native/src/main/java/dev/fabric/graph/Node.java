package dev.fabric.graph;

import dev.fabric.backend.DType;
import dev.fabric.backend.RopeLayout;
import java.util.Arrays;

/**
 * One op of a {@link Graph}: its kind, inputs, output shape and type, and the attributes its kind uses. Nodes are
 * created by the graph's builder methods only, in an order that is a valid schedule.
 */
public final class Node {
    final int id;
    final OpKind op;
    final Node[] in;
    final long[] shape;
    final DType type;
    /** Layer (segment) the node belongs to, for gradient checkpointing; -1 outside the layers. */
    final int segment;
    /** True for forward nodes (and their recomputed copies), false for nodes autodiff appended. */
    final boolean forward;
    boolean needsGrad;

    // attributes (each op reads the ones it needs)
    float eps, scale, theta, p;
    int nRot, heads, kvHeads, batch, chunk;
    long seed, offset;
    RopeLayout layout;
    Param param;
    String name;

    Node(int id, OpKind op, Node[] in, long[] shape, DType type, int segment, boolean forward) {
        this.id = id;
        this.op = op;
        this.in = in;
        this.shape = shape;
        this.type = type;
        this.segment = segment;
        this.forward = forward;
    }

    public OpKind op() {
        return op;
    }

    public long[] shape() {
        return shape.clone();
    }

    public DType type() {
        return type;
    }

    public long numel() {
        long n = 1;
        for (long d : shape) n *= d;
        return n;
    }

    public long rows() {
        return shape.length == 0 ? 1 : numel() / shape[shape.length - 1];
    }

    public long cols() {
        return shape.length == 0 ? 1 : shape[shape.length - 1];
    }

    long bytes() {
        return type.bytesOf(numel());
    }

    /** Copies this node's attributes onto {@code o}. */
    void copyAttrs(Node o) {
        o.eps = eps;
        o.scale = scale;
        o.theta = theta;
        o.p = p;
        o.nRot = nRot;
        o.heads = heads;
        o.kvHeads = kvHeads;
        o.batch = batch;
        o.chunk = chunk;
        o.seed = seed;
        o.offset = offset;
        o.layout = layout;
        o.param = param;
        o.name = name;
    }

    @Override
    public String toString() {
        return "%" + id + " " + op + (name != null ? "(" + name + ")" : param != null ? "(" + param.name() + ")" : "")
                + Arrays.toString(shape);
    }
}
