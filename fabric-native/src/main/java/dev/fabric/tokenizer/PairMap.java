package dev.fabric.tokenizer;

import java.util.Arrays;

/**
 * Open-addressing hash map from a pair of symbol ids to (rank, merged id): the merge table both
 * tokenizers consult for every adjacent pair, so it avoids boxing and string concatenation.
 */
final class PairMap {
    private static final long EMPTY = Long.MIN_VALUE;
    private long[] keys;
    private int[] ranks;
    private int[] results;
    private int size;
    private int mask;

    PairMap(int expected) {
        int cap = Integer.highestOneBit(Math.max(16, expected * 2 - 1)) << 1;
        keys = new long[cap];
        Arrays.fill(keys, EMPTY);
        ranks = new int[cap];
        results = new int[cap];
        mask = cap - 1;
    }

    static long key(int left, int right) {
        return ((long) left << 32) | (right & 0xFFFFFFFFL);
    }

    private static int slot(long key, int mask) {
        long h = key * 0x9E3779B97F4A7C15L;
        return (int) (h ^ (h >>> 29)) & mask;
    }

    /** Adds the pair unless it is present: the first rank given for a pair is the one that counts. */
    void putIfAbsent(int left, int right, int rank, int result) {
        if ((size + 1) * 2 > keys.length) grow();
        long k = key(left, right);
        int i = slot(k, mask);
        while (keys[i] != EMPTY) {
            if (keys[i] == k) return;
            i = (i + 1) & mask;
        }
        keys[i] = k;
        ranks[i] = rank;
        results[i] = result;
        size++;
    }

    /** The slot of the pair, or -1 when the pair is absent. */
    int find(int left, int right) {
        long k = key(left, right);
        int i = slot(k, mask);
        long[] ks = keys;
        while (true) {
            long v = ks[i];
            if (v == k) return i;
            if (v == EMPTY) return -1;
            i = (i + 1) & mask;
        }
    }

    int rankAt(int slot) {
        return ranks[slot];
    }

    int resultAt(int slot) {
        return results[slot];
    }

    int size() {
        return size;
    }

    private void grow() {
        long[] ok = keys;
        int[] or = ranks, ores = results;
        int cap = ok.length * 2;
        keys = new long[cap];
        Arrays.fill(keys, EMPTY);
        ranks = new int[cap];
        results = new int[cap];
        mask = cap - 1;
        for (int j = 0; j < ok.length; j++) {
            if (ok[j] == EMPTY) continue;
            int i = slot(ok[j], mask);
            while (keys[i] != EMPTY) i = (i + 1) & mask;
            keys[i] = ok[j];
            ranks[i] = or[j];
            results[i] = ores[j];
        }
    }
}
