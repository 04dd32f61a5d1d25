package dev.fabric.tokenizer;

import static dev.fabric.tokenizer.UnicodeClass.LETTER;
import static dev.fabric.tokenizer.UnicodeClass.NUMBER;
import static dev.fabric.tokenizer.UnicodeClass.OTHER;

/**
 * GPT-2's pre-tokenizer regex, scanned by hand (leftmost alternative wins, as in the regex):
 * {@code 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+}.
 */
final class Gpt2Split implements PreTokenizer {
    @Override
    public void split(int[] cp, int from, int to, IntList ends) {
        int p = from;
        while (p < to) {
            int e = contraction(cp, p, to);
            if (e < 0) {
                int c = cp[p];
                // " ?X+": an optional single space, then a run of one class.
                int q = c == ' ' && p + 1 < to ? p + 1 : p;
                int k = UnicodeClass.of(cp[q]);
                if (k == LETTER || k == NUMBER || k == OTHER) {
                    e = q + 1;
                    while (e < to && UnicodeClass.of(cp[e]) == k) e++;
                } else {
                    e = whitespace(cp, p, to);
                }
            }
            ends.add(e);
            p = e;
        }
    }

    private static int contraction(int[] cp, int p, int to) {
        if (cp[p] != '\'' || p + 1 >= to) return -1;
        int a = cp[p + 1];
        if (a == 's' || a == 't' || a == 'm' || a == 'd') return p + 2;
        if (p + 2 >= to) return -1;
        int b = cp[p + 2];
        if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return p + 3;
        return -1;
    }

    /** {@code \s+(?!\S)|\s+}: a whitespace run, less its last character when a non-space follows. */
    static int whitespace(int[] cp, int p, int to) {
        int e = p;
        while (e < to && UnicodeClass.isSpace(cp[e])) e++;
        if (e - p > 1 && e < to) return e - 1;
        return Math.max(e, p + 1);
    }
}
