package dev.fabric.tokenizer;

/**
 * GPT-2's byte-to-unicode table: byte-level BPE vocabularies spell every byte as one printable code
 * point so that token texts never contain spaces or control characters. The printable Latin-1 bytes
 * ({@code ! .. ~}, {@code ¡ .. ¬}, {@code ® .. ÿ}) stand for themselves; the other 68 bytes are given
 * U+0100, U+0101, ... in byte order.
 */
final class ByteLevel {
    private static final char[] BYTE_TO_CHAR = new char[256];
    private static final short[] CHAR_TO_BYTE = new short[0x200];

    static {
        java.util.Arrays.fill(CHAR_TO_BYTE, (short) -1);
        int next = 0x100;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            char c = printable ? (char) b : (char) next++;
            BYTE_TO_CHAR[b] = c;
            CHAR_TO_BYTE[c] = (short) b;
        }
    }

    private ByteLevel() {}

    static char charOf(int b) {
        return BYTE_TO_CHAR[b & 0xFF];
    }

    /** The byte a mapped character stands for, or -1 if {@code c} is not one of the 256. */
    static int byteOf(int c) {
        return c >= 0 && c < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[c] : -1;
    }

    /** The mapped spelling of some bytes. */
    static String encode(byte[] bytes, int from, int to) {
        char[] cs = new char[to - from];
        for (int i = from; i < to; i++) cs[i - from] = BYTE_TO_CHAR[bytes[i] & 0xFF];
        return new String(cs);
    }
}
