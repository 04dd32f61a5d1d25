package dev.fabric.imatrix;

import dev.fabric.FabricException;
import dev.fabric.gguf.GgmlType;
import dev.fabric.gguf.GgufFile;
import dev.fabric.gguf.GgufMetadata;
import dev.fabric.gguf.GgufTensorInfo;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Reads both imatrix formats into the per-column weights quantize uses (spec sections 5.2-5.4). A file that
 * starts with the GGUF magic is read as the GGUF format (and its errors reported as such); anything else as the
 * legacy {@code .dat}.
 */
public final class ImatrixReader {
    static final String KEY_DATASETS = "imatrix.datasets";
    static final String KEY_CHUNK_COUNT = "imatrix.chunk_count";
    static final String KEY_CHUNK_SIZE = "imatrix.chunk_size";
    private static final String SUMS = ".in_sum2";
    private static final String COUNTS = ".counts";

    private ImatrixReader() {}

    public static Imatrix read(Path file) {
        try {
            return isGguf(file) ? readGguf(file) : LegacyImatrixReader.read(file);
        } catch (IOException e) {
            throw ioError(file, e);
        }
    }

    /**
     * The raw sums and counts of a GGUF or legacy imatrix, as llama-imatrix --in-file loads them to add to. A
     * GGUF entry must describe one matrix (n_mat = 1); the legacy format gives each entry's ncall as its count.
     */
    public static ImatrixStats readStats(Path file) {
        try {
            if (!isGguf(file)) return LegacyImatrixReader.readStats(file);
            try (GgufFile g = GgufFile.open(file)) {
                Map<String, float[]> sums = new HashMap<>();
                Map<String, Long> counts = new HashMap<>();
                for (var e : entries(g, file).entrySet()) {
                    GgufTensorInfo c = e.getValue()[1];
                    if (c.elements() != 1)
                        throw new FabricException("imatrix " + file + ": entry '" + e.getKey() + "' holds " + c.elements()
                                + " matrices (mixture of experts); combining those is not supported");
                    FloatBuffer s = floats(g, e.getValue()[0]);
                    float[] v = new float[s.remaining()];
                    s.get(v);
                    sums.put(e.getKey(), v);
                    float n = floats(g, c).get(0);
                    if (!(n >= 0) || n > 1e15f)
                        throw new FabricException("imatrix " + file + ": entry '" + e.getKey() + "' has a token count of "
                                + n + ", expected a whole number >= 0");
                    counts.put(e.getKey(), Math.round((double) n));
                }
                GgufMetadata md = g.metadata();
                return new ImatrixStats(sums, counts, md.getStringArray(KEY_DATASETS), nonNegative(md, KEY_CHUNK_COUNT, file),
                        nonNegative(md, KEY_CHUNK_SIZE, file));
            }
        } catch (IOException e) {
            throw ioError(file, e);
        }
    }

    private static int nonNegative(GgufMetadata md, String key, Path file) {
        int v = md.getInt(key);
        if (v < 0) throw new FabricException("imatrix " + file + ": " + key + " = " + v + ": must be >= 0");
        return v;
    }

    /** Whether the file starts with the GGUF magic (else it is read as the legacy format). */
    private static boolean isGguf(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return new String(in.readNBytes(4), StandardCharsets.ISO_8859_1).equals("GGUF");
        }
    }

    private static FabricException ioError(Path file, IOException e) {
        if (e instanceof NoSuchFileException)
            return new FabricException("imatrix file " + file + " does not exist", FabricException.EXIT_INPUT, e);
        return new FabricException("cannot read imatrix file " + file + ": " + e.getMessage(), FabricException.EXIT_IO, e);
    }

    /**
     * GGUF imatrix: {@code <weight>.in_sum2} (sums of squared activations, [ne0, n_mat]) and
     * {@code <weight>.counts} ([1, n_mat] tokens per matrix). Weight = sum / round(count); a matrix that saw no
     * tokens gets weight 1 (partial MoE coverage).
     */
    static Imatrix readGguf(Path file) throws IOException {
        try (GgufFile g = GgufFile.open(file)) {
            Map<String, float[]> entries = new HashMap<>();
            for (var e : entries(g, file).entrySet())
                entries.put(e.getKey(), weights(g, file, e.getKey(), e.getValue()[0], e.getValue()[1]));
            GgufMetadata md = g.metadata();
            return new Imatrix(entries, md.getStringArray(KEY_DATASETS), md.getInt(KEY_CHUNK_COUNT), file,
                    Imatrix.Format.GGUF);
        }
    }

    /**
     * The entries of a GGUF imatrix, by weight name: its {@code in_sum2} and {@code counts} tensors, both F32,
     * after checking the imatrix keys are present and every entry has both tensors.
     */
    private static Map<String, GgufTensorInfo[]> entries(GgufFile g, Path file) {
        GgufMetadata md = g.metadata();
        for (String k : List.of(KEY_DATASETS, KEY_CHUNK_COUNT, KEY_CHUNK_SIZE)) {
            if (!md.has(k))
                throw new FabricException("imatrix " + file + " is a GGUF file without the '" + k + "' key: "
                        + "not an imatrix (general.type = " + md.getString("general.type", "absent") + ")");
        }
        if (g.tensors().isEmpty()) throw new FabricException("imatrix " + file + " has no entries");
        Map<String, GgufTensorInfo[]> pairs = new TreeMap<>();
        for (GgufTensorInfo t : g.tensors()) {
            String n = t.name();
            if (n.endsWith(SUMS)) pairs.computeIfAbsent(strip(n, SUMS), x -> new GgufTensorInfo[2])[0] = t;
            else if (n.endsWith(COUNTS)) pairs.computeIfAbsent(strip(n, COUNTS), x -> new GgufTensorInfo[2])[1] = t;
        }
        for (var e : pairs.entrySet()) {
            GgufTensorInfo sums = e.getValue()[0], counts = e.getValue()[1];
            if (sums == null || counts == null)
                throw new FabricException("imatrix " + file + ": entry '" + e.getKey() + "' has "
                        + (sums == null ? "counts but no in_sum2" : "in_sum2 but no counts") + " tensor");
            if (sums.type() != GgmlType.F32 || counts.type() != GgmlType.F32)
                throw new FabricException("imatrix " + file + ": entry '" + e.getKey() + "' is stored as "
                        + sums.type() + "/" + counts.type() + ", expected F32");
        }
        return pairs;
    }

    private static float[] weights(GgufFile g, Path file, String name, GgufTensorInfo sums, GgufTensorInfo counts) {
        long ne0 = sums.ne(0);
        long nMat = sums.elements() / Math.max(1, ne0);
        if (counts.elements() < nMat || sums.elements() > Integer.MAX_VALUE)
            throw new FabricException("imatrix " + file + ": entry '" + name + "' has " + counts.elements()
                    + " counts for " + nMat + " matrices");
        FloatBuffer s = floats(g, sums);
        FloatBuffer c = floats(g, counts);
        float[] w = new float[(int) sums.elements()];
        for (int j = 0; j < nMat; j++) {
            // counts are whole token numbers stored as floats; quantize rounds them (lround) before dividing
            float count = (float) Math.round((double) c.get(j));
            for (int i = 0; i < ne0; i++) {
                int k = (int) (j * ne0 + i);
                w[k] = count > 0 ? s.get(k) / count : 1.0f;
            }
        }
        return w;
    }

    private static FloatBuffer floats(GgufFile g, GgufTensorInfo t) {
        ByteBuffer b = g.data(t).asByteBuffer();
        return b.order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
    }

    private static String strip(String s, String suffix) {
        return s.substring(0, s.length() - suffix.length());
    }
}
