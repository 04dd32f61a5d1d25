package dev.fabric.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fabric.gguf.GgmlType;
import dev.fabric.gguf.GgufFile;
import dev.fabric.gguf.GgufTensorInfo;
import dev.fabric.testing.SharedRef;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import org.bytedeco.javacpp.BytePointer;
import org.junit.jupiter.api.Test;

/**
 * Byte parity with llama-quantize: every tensor of a type we implement in ref/quant/manifest.json (outputs of
 * {@code llama-quantize [--imatrix M] MODEL OUT PRESET 2}) is quantized again here from the same source (F16
 * decoded exactly; stories260K is F32) and must have the same SHA-256. With an imatrix the weights are
 * {@code in_sum2 / round(count)} per column (spec 5.4); tensors the imatrix lacks (token_embd) take the reference
 * path, as llama-quantize does.
 */
class LlamaQuantizeParityTest {
    private record Source(String prefix, String model, String imatrix) {}

    private static final List<Source> SOURCES = List.of(
            new Source("llama-spm-256x8-f16.", "models/llama-spm-256x8-f16.gguf", "imatrix/llama-spm-256x8-f16.imatrix.gguf"),
            new Source("qwen3-micro-f16.", "models/qwen3-micro-f16.gguf", "imatrix/qwen3-micro-f16.imatrix.gguf"),
            new Source("stories260K.", "engine/stories260K.gguf", "imatrix/stories260K.imatrix.gguf"));

    /** model|tensor|type|weighted -> our SHA-256; many presets share tensors, each is quantized once. */
    private static final Map<String, String> HASHES = new ConcurrentHashMap<>();

    @Test
    void presetsWithoutImatrixMatchLlamaQuantize() throws Exception {
        checkParity(false);
    }

    @Test
    void presetsWithImatrixMatchLlamaQuantize() throws Exception {
        checkParity(true);
    }

    private void checkParity(boolean imat) throws Exception {
        @SuppressWarnings("unchecked")
        Map<String, Object> manifest = (Map<String, Object>) new ObjectMapper().readValue(SharedRef.require("quant/manifest.json").toFile(), Map.class);
        Map<String, int[]> table = new TreeMap<>();   // type -> {matched, total}
        List<String> mismatches = new ArrayList<>();
        int files = 0;
        for (Source src : SOURCES) {
            Path modelPath = SharedRef.dir().resolve(src.model());
            if (!Files.exists(modelPath)) continue;
            Map<String, float[]> weights = imat ? loadImatrix(SharedRef.dir().resolve(src.imatrix())) : Map.of();
            try (GgufFile model = GgufFile.open(modelPath)) {
                for (var file : manifest.entrySet()) {
                    String fname = file.getKey();
                    if (!fname.startsWith(src.prefix()) || fname.endsWith(".imatrix.gguf")) continue;
                    if (fname.contains(".imat.") != imat) continue;
                    files++;
                    @SuppressWarnings("unchecked")
                    var tensors = (List<Map<String, Object>>) ((Map<String, Object>) file.getValue()).get("tensors");
                    for (Map<String, Object> t : tensors) {
                        GgmlType type = typeByName((String) t.get("type"));
                        GgufTensorInfo in = model.tensor((String) t.get("name"));
                        if (type == null || in == null || (in.type() != GgmlType.F16 && in.type() != GgmlType.F32)) continue;
                        float[] w = weights.get(in.name());
                        String key = src.prefix() + in.name() + "|" + type + "|" + (w != null);
                        String ours = HASHES.computeIfAbsent(key, k -> quantizeAndHash(model, in, type, w));
                        int[] row = table.computeIfAbsent(type + (w != null ? " (imatrix)" : ""), k -> new int[2]);
                        row[1]++;
                        if (ours.equals(t.get("sha256"))) row[0]++;
                        else mismatches.add(fname + ": " + in.name() + " " + type);
                    }
                }
            }
        }
        StringBuilder report = new StringBuilder("llama-quantize parity, " + (imat ? "with" : "without")
                + " imatrix (" + files + " files):\n");
        table.forEach((k, v) -> report.append(String.format("  %-18s %4d / %4d%n", k, v[0], v[1])));
        System.out.print(report);
        assertTrue(files > 0, "no manifest entries found");
        assertEquals(List.of(), mismatches, report.toString());
    }

    /** Quantizes straight from the mapped file, F16 rows decoded one at a time by the native side. */
    private static String quantizeAndHash(GgufFile model, GgufTensorInfo in, GgmlType type, float[] imatrix) {
        long ncols = in.ne(0), nrows = in.elements() / ncols;
        try (BytePointer dst = new BytePointer(nrows * type.rowBytes(ncols))) {
            Quantizer.quantizeAt(type, in.type(), model.data(in).address(), nrows, ncols, imatrix, dst.address(), 2);
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            md.update(dst.asByteBuffer());
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** llama-quantize's per-column weights from a GGUF imatrix: in_sum2 / lround(count), or 1 where count is 0. */
    static Map<String, float[]> loadImatrix(Path path) throws IOException {
        Map<String, float[]> out = new HashMap<>();
        try (GgufFile g = GgufFile.open(path)) {
            for (GgufTensorInfo t : g.tensors()) {
                if (!t.name().endsWith(".in_sum2")) continue;
                String base = t.name().substring(0, t.name().length() - ".in_sum2".length());
                float[] sums = floats(g, t);
                float[] counts = floats(g, g.tensor(base + ".counts"));
                int per = sums.length / counts.length;
                float[] w = new float[sums.length];
                for (int i = 0; i < sums.length; i++) {
                    float c = (float) Math.round((double) counts[i / per]);
                    w[i] = c == 0 ? 1.0f : sums[i] / c;
                }
                out.put(base, w);
            }
        }
        return out;
    }

    private static float[] floats(GgufFile g, GgufTensorInfo t) {
        if (t.type() != GgmlType.F32) throw new IllegalArgumentException(t.name() + " is " + t.type() + ", not F32");
        ByteBuffer b = g.data(t).asByteBuffer();
        float[] out = new float[Math.toIntExact(t.elements())];
        b.asFloatBuffer().get(out);
        return out;
    }

    private static GgmlType typeByName(String name) {
        try {
            GgmlType t = GgmlType.valueOf(name);
            return t.quantizable() ? t : null;
        } catch (IllegalArgumentException e) {
            return null;
        }
    }
}
