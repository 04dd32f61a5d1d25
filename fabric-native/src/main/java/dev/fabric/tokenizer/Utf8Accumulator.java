package dev.fabric.tokenizer;

/**
 * Turns a stream of bytes into text one complete character at a time. Bytes that cannot be part of
 * well-formed UTF-8 become U+FFFD, one per maximal ill-formed subsequence (Unicode's recommended
 * practice), and an incomplete sequence is held back until it completes or {@link #finish} is called.
 */
final class Utf8Accumulator {
    private final StringBuilder out = new StringBuilder();
    private int need;
    private int cp;
    private int lo = 0x80, hi = 0xBF;

    void push(byte[] bytes) {
        for (byte b : bytes) push(b & 0xFF);
    }

    void push(int b) {
        if (need > 0) {
            if (b >= lo && b <= hi) {
                cp = (cp << 6) | (b & 0x3F);
                lo = 0x80;
                hi = 0xBF;
                if (--need == 0) out.appendCodePoint(cp);
                return;
            }
            out.append('\uFFFD');
            need = 0;
            lo = 0x80;
            hi = 0xBF;
        }
        if (b < 0x80) {
            out.append((char) b);
        } else if (b >= 0xC2 && b <= 0xDF) {
            start(1, b & 0x1F, 0x80, 0xBF);
        } else if (b >= 0xE0 && b <= 0xEF) {
            start(2, b & 0x0F, b == 0xE0 ? 0xA0 : 0x80, b == 0xED ? 0x9F : 0xBF);
        } else if (b >= 0xF0 && b <= 0xF4) {
            start(3, b & 0x07, b == 0xF0 ? 0x90 : 0x80, b == 0xF4 ? 0x8F : 0xBF);
        } else {
            out.append('\uFFFD');
        }
    }

    private void start(int need, int bits, int lo, int hi) {
        this.need = need;
        this.cp = bits;
        this.lo = lo;
        this.hi = hi;
    }

    boolean hasPending() {
        return need > 0;
    }

    /** The text completed since the last call. */
    String take() {
        String s = out.toString();
        out.setLength(0);
        return s;
    }

    /** Ends the stream: a held-back incomplete sequence becomes U+FFFD. */
    void finish() {
        if (need > 0) {
            out.append('\uFFFD');
            need = 0;
            lo = 0x80;
            hi = 0xBF;
        }
    }
}
