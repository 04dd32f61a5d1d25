package dev.fabric.tokenizer;

import java.util.Arrays;
import java.util.List;

/**
 * Token text to id, as an open-addressing table of ids (no boxing, no per-entry objects), with lookups of
 * a region of a string or of two regions joined, so that loading 150k merges "a b" allocates nothing per
 * merge. A text that occurs twice maps to its last id, as llama.cpp's text-to-token table does.
 */
final class TextIndex {
    private final List<String> texts;
    private final int[] table;
    private final int mask;

    TextIndex(List<String> texts) {
        this.texts = texts;
        int cap = Integer.highestOneBit(Math.max(16, texts.size() * 2 - 1)) << 1;
        table = new int[cap];
        Arrays.fill(table, -1);
        mask = cap - 1;
        for (int id = 0; id < texts.size(); id++) {
            String t = texts.get(id);
            int i = slot(t.hashCode());
            while (table[i] >= 0 && !texts.get(table[i]).equals(t)) i = (i + 1) & mask;
            table[i] = id;
        }
    }

    private int slot(int h) {
        return (h ^ (h >>> 16)) * 0x9E3779B1 >>> 7 & mask;
    }

    /** The id of the text, or -1. */
    int get(String s) {
        int i = slot(s.hashCode());
        while (true) {
            int id = table[i];
            if (id < 0) return -1;
            if (texts.get(id).equals(s)) return id;
            i = (i + 1) & mask;
        }
    }

    /** The id of {@code src[from, to)}, or -1. */
    int get(String src, int from, int to) {
        return joined(src, from, to, to, to);
    }

    /** The id of {@code src[a0, a1) + src[b0, b1)}, or -1. */
    int joined(String src, int a0, int a1, int b0, int b1) {
        int h = 0;
        for (int k = a0; k < a1; k++) h = 31 * h + src.charAt(k);
        for (int k = b0; k < b1; k++) h = 31 * h + src.charAt(k);
        int la = a1 - a0, len = la + (b1 - b0);
        int i = slot(h);
        while (true) {
            int id = table[i];
            if (id < 0) return -1;
            String t = texts.get(id);
            if (t.length() == len && t.regionMatches(0, src, a0, la) && t.regionMatches(la, src, b0, b1 - b0)) return id;
            i = (i + 1) & mask;
        }
    }
}
