package dev.fabric.tokenizer;

/**
 * The merge loop both tokenizers share: while some adjacent pair of symbols is in the pair table,
 * merge the best one (lowest priority value; on ties the leftmost), as llama.cpp's priority queues do.
 * BPE's priority is the merge rank; SentencePiece's is the merged token's score, negated (see
 * {@link #scorePriority}).
 */
final class Merger {
    /** Above this many symbols the quadratic scan gives way to a heap over a linked list. */
    static final int SMALL = 24;

    private Merger() {}

    /** A float score as an int whose signed order is the reverse of the score's (higher score, smaller int). */
    static int scorePriority(float score) {
        int bits = Float.floatToIntBits(score == 0f ? 0f : score);
        int ascending = bits >= 0 ? bits ^ 0x80000000 : ~bits; // unsigned order == float order
        return ~ascending ^ 0x80000000;
    }

    /**
     * Merges {@code sym[0, m)} in place; {@code start[i]} (the index of the first input unit of symbol i)
     * follows the symbols. Returns the number of symbols left.
     */
    static int merge(PairMap pairs, int[] sym, int[] start, int m) {
        return m <= SMALL ? mergeSmall(pairs, sym, start, m) : mergeLarge(pairs, sym, start, m);
    }

    static int mergeSmall(PairMap pairs, int[] sym, int[] start, int m) {
        if (m < 2) return m;
        int[] slot = new int[m - 1];
        for (int i = 0; i + 1 < m; i++) slot[i] = pairs.find(sym[i], sym[i + 1]);
        while (m > 1) {
            int best = -1;
            int bestPriority = 0;
            for (int i = 0; i + 1 < m; i++) {
                int s = slot[i];
                if (s >= 0 && (best < 0 || pairs.rankAt(s) < bestPriority)) {
                    best = i;
                    bestPriority = pairs.rankAt(s);
                }
            }
            if (best < 0) break;
            sym[best] = pairs.resultAt(slot[best]);
            int tail = m - best - 2;
            System.arraycopy(sym, best + 2, sym, best + 1, tail);
            System.arraycopy(start, best + 2, start, best + 1, tail);
            if (tail > 1) System.arraycopy(slot, best + 2, slot, best + 1, tail - 1);
            m--;
            if (best > 0) slot[best - 1] = pairs.find(sym[best - 1], sym[best]);
            if (best + 1 < m) slot[best] = pairs.find(sym[best], sym[best + 1]);
        }
        return m;
    }

    static int mergeLarge(PairMap pairs, int[] sym, int[] start, int m) {
        int[] prev = new int[m];
        int[] next = new int[m];
        LongHeap heap = new LongHeap();
        for (int i = 0; i < m; i++) {
            prev[i] = i - 1;
            next[i] = i + 1 < m ? i + 1 : -1;
        }
        for (int i = 0; i + 1 < m; i++) offer(pairs, heap, sym, i, i + 1);
        while (!heap.isEmpty()) {
            long top = heap.pop();
            int left = (int) top;
            int priority = (int) (top >> 32);
            if (prev[left] == -2) continue; // merged into its left neighbour meanwhile
            int right = next[left];
            if (right < 0) continue;
            int s = pairs.find(sym[left], sym[right]);
            // A stale entry is one whose pair has changed since; an unchanged pair has this same priority.
            if (s < 0 || pairs.rankAt(s) != priority) continue;
            sym[left] = pairs.resultAt(s);
            prev[right] = -2; // dead
            next[left] = next[right];
            if (next[right] >= 0) prev[next[right]] = left;
            if (prev[left] >= 0) offer(pairs, heap, sym, prev[left], left);
            if (next[left] >= 0) offer(pairs, heap, sym, left, next[left]);
        }
        int n = 0;
        for (int i = 0; i >= 0; i = next[i]) {
            sym[n] = sym[i];
            start[n] = start[i];
            n++;
        }
        return n;
    }

    private static void offer(PairMap pairs, LongHeap heap, int[] sym, int left, int right) {
        int s = pairs.find(sym[left], sym[right]);
        if (s >= 0) heap.push(((long) pairs.rankAt(s) << 32) | left);
    }
}
