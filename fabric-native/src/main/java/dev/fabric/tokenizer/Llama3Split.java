package dev.fabric.tokenizer;

import static dev.fabric.tokenizer.UnicodeClass.LETTER;
import static dev.fabric.tokenizer.UnicodeClass.NUMBER;
import static dev.fabric.tokenizer.UnicodeClass.OTHER;

/**
 * The cl100k-style pre-tokenizer regex of Llama 3 ({@code maxDigits = 3}) and Qwen2/Qwen3
 * ({@code maxDigits = 1}), scanned by hand:
 * {@code (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+}
 * (the case-insensitive group covers ASCII letters only, as llama.cpp's rewrite of it does).
 */
final class Llama3Split implements PreTokenizer {
    private final int maxDigits;

    Llama3Split(int maxDigits) {
        this.maxDigits = maxDigits;
    }

    @Override
    public void split(int[] cp, int from, int to, IntList ends) {
        int p = from;
        while (p < to) {
            int e = next(cp, p, to);
            ends.add(e);
            p = e;
        }
    }

    private int next(int[] cp, int p, int to) {
        int c = cp[p];
        if (c == '\'' && p + 1 < to) {
            int a = cp[p + 1] | 0x20; // ASCII lower case; harmless for the non-letters compared below
            if (a == 's' || a == 't' || a == 'm' || a == 'd') return p + 2;
            if (p + 2 < to) {
                int b = cp[p + 2] | 0x20;
                if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return p + 3;
            }
        }
        int k = UnicodeClass.of(c);
        // [^\r\n\p{L}\p{N}]?\p{L}+
        if (c != '\r' && c != '\n' && k != NUMBER
                && (k == LETTER || (p + 1 < to && UnicodeClass.of(cp[p + 1]) == LETTER))) {
            int e = p + 1;
            while (e < to && UnicodeClass.of(cp[e]) == LETTER) e++;
            return e;
        }
        // \p{N}{1,maxDigits}
        if (k == NUMBER) {
            int e = p + 1;
            while (e < to && e - p < maxDigits && UnicodeClass.of(cp[e]) == NUMBER) e++;
            return e;
        }
        // " ?[^\s\p{L}\p{N}]+[\r\n]*"
        int q = c == ' ' && p + 1 < to ? p + 1 : p;
        if (UnicodeClass.of(cp[q]) == OTHER) {
            int e = q + 1;
            while (e < to && UnicodeClass.of(cp[e]) == OTHER) e++;
            while (e < to && (cp[e] == '\r' || cp[e] == '\n')) e++;
            return e;
        }
        // c is whitespace here. \s*[\r\n]+ : up to the last CR/LF of the run.
        int e = p;
        int lastBreak = -1;
        while (e < to && UnicodeClass.isSpace(cp[e])) {
            if (cp[e] == '\r' || cp[e] == '\n') lastBreak = e;
            e++;
        }
        if (lastBreak >= 0) return lastBreak + 1;
        // \s+(?!\S)|\s+
        if (e - p > 1 && e < to) return e - 1;
        return Math.max(e, p + 1);
    }
}
