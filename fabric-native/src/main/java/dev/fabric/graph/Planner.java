package dev.fabric.graph;

import dev.fabric.backend.DType;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Buffers by liveness. Every value a node computes (and the extra row statistics attention keeps, and the input
 * gradient the fused loss writes) is a buffer with a first use (the node that writes it) and a last use (the last
 * node that reads it or a view of it); a buffer goes back to a pool after its last use, and a later buffer of the
 * same byte size takes it. Views (reshape, slice) share their source's buffer. The result assigns each buffer a
 * slot and reports the peak by category ({@link MemoryPlan}).
 */
final class Planner {
    /** One planned buffer. */
    static final class Buffer {
        final long bytes;
        final boolean forward;
        int first, last;
        int slot = -1;

        Buffer(long bytes, boolean forward, int first) {
            this.bytes = bytes;
            this.forward = forward;
            this.first = first;
            this.last = first;
        }
    }

    final Map<Node, Buffer> value = new IdentityHashMap<>();
    final Map<Node, Buffer> aux = new IdentityHashMap<>();
    final List<Long> slots = new ArrayList<>();
    long peakLive, peakForward, peakBackward;

    Planner(Graph g) {
        List<Node> nodes = g.nodes();
        List<Buffer> all = new ArrayList<>();
        for (Node n : nodes) {
            int i = n.id;
            switch (n.op) {
                case PARAM, INPUT -> {
                }
                case RESHAPE, SLICE -> value.put(n, value.get(n.in[0]));
                case CROSS_ENTROPY_BACKWARD -> value.put(n, aux.get(n.in[0]));
                default -> {
                    if (n.op.isSink()) break;
                    Buffer b = new Buffer(n.bytes(), n.forward, i);
                    value.put(n, b);
                    all.add(b);
                    if (n.op == OpKind.ATTENTION) {
                        Buffer l = new Buffer(DType.F32.bytesOf(n.rows() * n.heads), n.forward, i);
                        aux.put(n, l);
                        all.add(l);
                    } else if (n.op == OpKind.CROSS_ENTROPY && n.in[0].needsGrad) {
                        Buffer d = new Buffer(n.in[0].bytes(), false, i);
                        aux.put(n, d);
                        all.add(d);
                    }
                    if (n == g.loss) b.last = Integer.MAX_VALUE;  // read after the run
                }
            }
            for (Node in : n.in) {
                if (in == null) continue;
                Buffer b = value.get(in);
                if (b != null) b.last = Math.max(b.last, i);
                Buffer a = in.op == OpKind.ATTENTION ? aux.get(in) : null;
                if (a != null) a.last = Math.max(a.last, i);
            }
            if (n.op == OpKind.CROSS_ENTROPY_BACKWARD) aux.get(n.in[0]).last = Math.max(aux.get(n.in[0]).last, i);
        }
        // walk the schedule: take a free slot of the same size or open one; free after the last use
        Map<Long, ArrayDeque<Integer>> free = new HashMap<>();
        Map<Integer, List<Buffer>> dying = new HashMap<>();
        for (Buffer b : all) dying.computeIfAbsent(b.last, k -> new ArrayList<>()).add(b);
        Map<Integer, List<Buffer>> born = new HashMap<>();
        for (Buffer b : all) born.computeIfAbsent(b.first, k -> new ArrayList<>()).add(b);
        long live = 0, liveF = 0;
        for (int i = 0; i < nodes.size(); i++) {
            for (Buffer b : born.getOrDefault(i, List.of())) {
                ArrayDeque<Integer> q = free.get(b.bytes);
                if (q != null && !q.isEmpty()) b.slot = q.pop();
                else {
                    b.slot = slots.size();
                    slots.add(b.bytes);
                }
                live += b.bytes;
                if (b.forward) liveF += b.bytes;
            }
            if (live > peakLive) {
                peakLive = live;
                peakForward = liveF;
                peakBackward = live - liveF;
            }
            for (Buffer b : dying.getOrDefault(i, List.of())) {
                free.computeIfAbsent(b.bytes, k -> new ArrayDeque<>()).push(b.slot);
                live -= b.bytes;
                if (b.forward) liveF -= b.bytes;
            }
        }
    }

    long arenaBytes() {
        long s = 0;
        for (long b : slots) s += b;
        return s;
    }
}
