package dev.fabric.io;

import dev.fabric.FabricException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;

/**
 * Reads user-supplied files (texts, conversations, small binary files) with a byte limit, so that a huge or endless
 * input (a multi-gigabyte file, {@code /dev/zero}, a FIFO) ends in an error naming the file and the limit instead
 * of an OutOfMemoryError, and strictly as UTF-8, so that a bad byte is reported with its file offset.
 *
 * <p>Files are read as streams (no size is trusted), so FIFOs and devices work like regular files.
 */
public final class TextInput {
    /** The default limit on one text input: 64 MiB (about 16 M tokens, days of evaluation on a small model). */
    public static final long DEFAULT_MAX_BYTES = 64L << 20;
    /** The largest limit honoured: what one Java array holds. */
    public static final long MAX_BYTES = Integer.MAX_VALUE - 16;

    private TextInput() {}

    /**
     * The whole of {@code file} as UTF-8. More than {@code maxBytes} bytes is an error naming the file, the limit and
     * {@code raise} (how to raise it, e.g. "--max-input-mib"; null when it cannot be raised).
     */
    public static String read(Path file, long maxBytes, String raise) throws IOException {
        byte[] b = readBytes(file, maxBytes, raise);
        return decode(file, b, b.length);
    }

    /**
     * A prefix of {@code file} of at least {@code wantBytes} bytes (when the file has that many), ending at the end
     * of a line where one comes within 1 MiB, else at a character boundary; the whole file when it is shorter.
     * Reading stops there, so an endless input is fine. More than {@code maxBytes} is an error as in {@link #read}.
     */
    public static Prefix readPrefix(Path file, long wantBytes, long maxBytes, String raise) throws IOException {
        maxBytes = Math.min(maxBytes, MAX_BYTES);
        long want = Math.min(wantBytes, maxBytes);
        long stop = Math.min(maxBytes, want + (1 << 20));
        try (InputStream in = open(file)) {
            Buffer buf = new Buffer();
            if (!buf.fill(in, want)) return new Prefix(decode(file, buf.a, buf.n), false, buf.n);
            // past `want`: go on to the end of the line
            while (buf.n < stop) {
                int c = in.read();
                if (c < 0) return new Prefix(decode(file, buf.a, buf.n), false, buf.n);
                buf.add((byte) c);
                if (c == '\n') return new Prefix(decode(file, buf.a, buf.n), true, buf.n);
            }
            if (buf.n >= maxBytes && want >= maxBytes && in.read() >= 0) throw tooLarge(file, maxBytes, raise);
            int end = buf.n;
            while (end > 0 && (buf.a[end - 1] & 0xC0) == 0x80) end--; // back to the start of a UTF-8 sequence
            if (end > 0 && (buf.a[end - 1] & 0x80) != 0) end--;
            return new Prefix(decode(file, buf.a, end), true, end);
        }
    }

    /** The text read by {@link #readPrefix}, whether the file goes on after it, and its length in bytes. */
    public record Prefix(String text, boolean truncated, long bytes) {}

    /** At most {@code maxBytes} bytes of {@code file}; more is an error naming the file, the limit and {@code raise}. */
    public static byte[] readBytes(Path file, long maxBytes, String raise) throws IOException {
        maxBytes = Math.min(maxBytes, MAX_BYTES);
        if (Files.isRegularFile(file) && Files.size(file) > maxBytes) throw tooLarge(file, maxBytes, raise);
        try (InputStream in = open(file)) {
            Buffer buf = new Buffer();
            if (buf.fill(in, maxBytes) && in.read() >= 0) throw tooLarge(file, maxBytes, raise);
            return buf.n == buf.a.length ? buf.a : Arrays.copyOf(buf.a, buf.n);
        }
    }

    private static InputStream open(Path file) throws IOException {
        if (Files.isDirectory(file))
            throw new FabricException(file + " is a directory, not a file", FabricException.EXIT_INPUT, null);
        try {
            return new java.io.BufferedInputStream(Files.newInputStream(file), 1 << 16);
        } catch (NoSuchFileException e) {
            throw new FabricException("no such file: " + file, FabricException.EXIT_INPUT, e);
        }
    }

    private static FabricException tooLarge(Path file, long maxBytes, String raise) {
        return new FabricException(file + " is larger than the limit of " + mib(maxBytes) + " for this input"
                + (raise == null ? "" : " (raise it with " + raise + ")"), FabricException.EXIT_INPUT, null);
    }

    static String mib(long bytes) {
        return bytes % (1 << 20) == 0 ? (bytes >> 20) + " MiB" : String.format(Locale.ROOT, "%.2f MiB", bytes / 1048576.0);
    }

    /** Strict UTF-8 of {@code b[0, n)}; a malformed sequence is an error naming the file and its byte offset. */
    public static String decode(Path file, byte[] b, int n) {
        boolean ascii = true;
        for (int i = 0; i < n && ascii; i++) ascii = b[i] >= 0;
        if (ascii) return new String(b, 0, n, StandardCharsets.ISO_8859_1);
        CharsetDecoder d = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(b, 0, n);
        CharBuffer out = CharBuffer.allocate(n);
        CoderResult r = d.decode(in, out, true);
        if (!r.isError()) r = d.flush(out);
        if (r.isError()) {
            int at = in.position();
            StringBuilder hex = new StringBuilder();
            for (int i = at; i < Math.min(n, at + Math.max(r.length(), 1)); i++)
                hex.append(String.format("%s%02x", hex.length() == 0 ? "" : " ", b[i] & 0xFF));
            throw new FabricException(file + ": not valid UTF-8 at byte offset " + at + " (byte" + (r.length() > 1 ? "s " : " ")
                    + hex + "); Fabric reads text files as UTF-8", FabricException.EXIT_INPUT, null);
        }
        return out.flip().toString();
    }

    /** A growing byte array. */
    private static final class Buffer {
        byte[] a = new byte[8192];
        int n;

        /** Reads until {@code limit} bytes are held (true) or the stream ends first (false). */
        boolean fill(InputStream in, long limit) throws IOException {
            while (n < limit) {
                if (n == a.length) a = Arrays.copyOf(a, (int) Math.min(Math.max(limit, 1), Math.min((long) a.length * 2, Integer.MAX_VALUE - 16)));
                int r = in.read(a, n, (int) Math.min(a.length - n, limit - n));
                if (r < 0) return false;
                n += r;
            }
            return true;
        }

        void add(byte x) {
            if (n == a.length) a = Arrays.copyOf(a, Math.min(a.length * 2, Integer.MAX_VALUE - 16));
            a[n++] = x;
        }
    }
}
