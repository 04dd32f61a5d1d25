package dev.fabric.imatrix;

import dev.fabric.FabricException;
import dev.fabric.io.TextInput;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The legacy {@code .dat} imatrix (spec section 5.3): {@code int32 n_entries}; per entry {@code int32 len}, the
 * name, {@code int32 ncall}, {@code int32 nval}, {@code float[nval]} (means scaled by ncall); then optionally
 * {@code int32 chunk_count}, {@code int32 len} and the dataset name. All little-endian. quantize divides each
 * value by ncall (when positive) to get the weight.
 */
public final class LegacyImatrixReader {
    /** The largest .dat read (a MoE model's file is a few hundred MiB). */
    static final long MAX_FILE_BYTES = 1L << 30;
    /** The most read from a pipe or device, whose size is not known in advance. */
    static final long MAX_STREAM_BYTES = 64L << 20;

    private LegacyImatrixReader() {}

    public static Imatrix read(Path file) throws IOException {
        ImatrixStats raw = readStats(file);
        Map<String, float[]> entries = new HashMap<>();
        for (var e : raw.sums().entrySet()) {
            long ncall = raw.counts().get(e.getKey());
            float[] v = e.getValue().clone();
            if (ncall > 0)
                for (int i = 0; i < v.length; i++) v[i] /= ncall;
            entries.put(e.getKey(), v);
        }
        return new Imatrix(entries, raw.datasets(), raw.chunkCount(), file, Imatrix.Format.LEGACY_DAT);
    }

    /**
     * The file as llama-imatrix loads it to add to (--in-file): each entry's stored values as the sums and its
     * ncall as the count (the values are means times ncall, so sum / count is the mean again). The chunk size
     * is not stored: 0.
     */
    public static ImatrixStats readStats(Path file) throws IOException {
        // a regular file is read whole (its size bounds every count below); a pipe or device up to a smaller limit
        long limit = Files.isRegularFile(file) ? MAX_FILE_BYTES : MAX_STREAM_BYTES;
        byte[] bytes;
        try {
            bytes = TextInput.readBytes(file, limit, null);
        } catch (FabricException e) {
            throw new FabricException("imatrix " + e.getMessage(), e.exitCode(), e);
        }
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        Cursor c = new Cursor(file, b);
        int n = c.int32("the entry count");
        if (n < 1) throw new FabricException("imatrix " + file + ": no entries (entry count " + n + " at offset 0)");
        if (n > b.remaining() / 12) // each entry holds at least a name length, ncall and nval
            throw c.error("entry count " + n + " is more than the " + b.remaining() + " bytes left can hold");
        Map<String, float[]> sums = new HashMap<>();
        Map<String, Long> counts = new HashMap<>();
        for (int e = 0; e < n; e++) {
            String what = "entry " + (e + 1) + " of " + n;
            int len = c.int32("the name length of " + what);
            String name = c.string(len, "the name of " + what);
            int ncall = c.int32("the call count of '" + name + "'");
            int nval = c.int32("the value count of '" + name + "'");
            if (nval < 1) throw c.error("entry '" + name + "' has " + nval + " values");
            c.need(4L * nval, "the values of '" + name + "'");
            float[] v = new float[nval];
            for (int i = 0; i < nval; i++) v[i] = b.getFloat();
            sums.put(name, v);
            counts.put(name, (long) ncall);
        }
        int chunks = 0;
        List<String> datasets = List.of();
        if (b.hasRemaining()) {
            chunks = c.int32("the chunk count");
            int len = c.int32("the dataset name length");
            datasets = List.of(c.string(len, "the dataset name"));
        }
        return new ImatrixStats(sums, counts, datasets, chunks, 0);
    }

    private record Cursor(Path file, ByteBuffer b) {
        void need(long bytes, String what) {
            if (bytes < 0 || bytes > b.remaining())
                throw error("truncated: " + what + " needs " + bytes + " bytes, " + b.remaining() + " left");
        }

        int int32(String what) {
            need(4, what);
            return b.getInt();
        }

        String string(int len, String what) {
            if (len < 0) throw error(what + " has a negative length " + len);
            need(len, what);
            byte[] s = new byte[len];
            b.get(s);
            return new String(s, StandardCharsets.UTF_8);
        }

        FabricException error(String what) {
            return new FabricException("imatrix " + file + " (legacy .dat format): " + what + " (at byte offset "
                    + b.position() + ")");
        }
    }
}
