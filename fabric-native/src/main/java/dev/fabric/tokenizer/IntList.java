package dev.fabric.tokenizer;

import java.util.Arrays;

/** A growable int array; the tokenizer's hot paths avoid boxing. */
final class IntList {
    private int[] a;
    private int n;

    IntList() {
        this(16);
    }

    IntList(int capacity) {
        a = new int[Math.max(4, capacity)];
    }

    void add(int v) {
        if (n == a.length) a = Arrays.copyOf(a, a.length * 2);
        a[n++] = v;
    }

    void addAll(int[] v) {
        ensure(n + v.length);
        System.arraycopy(v, 0, a, n, v.length);
        n += v.length;
    }

    private void ensure(int cap) {
        if (cap > a.length) a = Arrays.copyOf(a, Math.max(cap, a.length * 2));
    }

    int get(int i) {
        return a[i];
    }

    int size() {
        return n;
    }

    void clear() {
        n = 0;
    }

    int[] toArray() {
        return Arrays.copyOf(a, n);
    }
}
