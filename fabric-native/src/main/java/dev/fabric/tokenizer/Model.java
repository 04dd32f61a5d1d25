package dev.fabric.tokenizer;

/** The tokenization of raw text (no special tokens inside) into ids: byte-level BPE or SentencePiece. */
interface Model {
    /**
     * Appends the ids of {@code text[from, to)} and, when {@code offsets} is not null, the UTF-16 index in
     * {@code text} where each starts. {@code afterSpecial}: the piece opens the text or follows a special
     * token (SentencePiece then prefixes a space).
     */
    void encode(String text, int from, int to, boolean afterSpecial, IntList ids, IntList offsets);

    /** The pieces of one word: ids, and the offset (in the word's own units) where each starts. */
    record Piece(int[] ids, int[] starts) {}

    /**
     * Code points of text[from, to) into cps from index {@code at}, with the UTF-16 index of each in charAt
     * (and {@code to} after the last); returns the index after the last.
     */
    static int codePoints(String text, int from, int to, int[] cps, int[] charAt, int at) {
        int m = at;
        for (int i = from; i < to; ) {
            char c = text.charAt(i);
            int cp = c;
            int w = 1;
            if (Character.isHighSurrogate(c) && i + 1 < to && Character.isLowSurrogate(text.charAt(i + 1))) {
                cp = Character.toCodePoint(c, text.charAt(i + 1));
                w = 2;
            } else if (Character.isSurrogate(c)) {
                cp = 0xFFFD; // a lone surrogate has no UTF-8 form; encode it as U+FFFD
            }
            charAt[m] = i;
            cps[m++] = cp;
            i += w;
        }
        charAt[m] = to;
        return m;
    }

    /** Appends the UTF-8 bytes of cp to buf at n; returns the new n. */
    static int utf8(int cp, byte[] buf, int n) {
        if (cp < 0x80) {
            buf[n++] = (byte) cp;
        } else if (cp < 0x800) {
            buf[n++] = (byte) (0xC0 | (cp >> 6));
            buf[n++] = (byte) (0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            buf[n++] = (byte) (0xE0 | (cp >> 12));
            buf[n++] = (byte) (0x80 | ((cp >> 6) & 0x3F));
            buf[n++] = (byte) (0x80 | (cp & 0x3F));
        } else {
            buf[n++] = (byte) (0xF0 | (cp >> 18));
            buf[n++] = (byte) (0x80 | ((cp >> 12) & 0x3F));
            buf[n++] = (byte) (0x80 | ((cp >> 6) & 0x3F));
            buf[n++] = (byte) (0x80 | (cp & 0x3F));
        }
        return n;
    }
}
