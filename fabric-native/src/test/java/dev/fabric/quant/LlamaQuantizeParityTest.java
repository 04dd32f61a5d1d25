package dev.fabric.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fabric.testing.SharedRef;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * Byte parity with llama-quantize: every tensor of a type we implement in ref/quant/manifest.json (outputs of
 * {@code llama-quantize [--imatrix] MODEL OUT PRESET 2}) is quantized again here from the same source floats
 * (F16 decoded exactly; stories260K is F32) and must have the same SHA-256. With an imatrix, the weights are
 * {@code in_sum2 / round(count)} per column (spec 5.4); tensors the imatrix lacks take the reference path, as
 * llama-quantize does.
 */
class LlamaQuantizeParityTest {
    private record Source(String prefix, String model, String imatrix) {}

    private static final List<Source> SOURCES = List.of(
            new Source("llama-spm-256x8-f16.", "models/llama-spm-256x8-f16.gguf", "imatrix/llama-spm-256x8-f16.imatrix.gguf"),
            new Source("qwen3-micro-f16.", "models/qwen3-micro-f16.gguf", "imatrix/qwen3-micro-f16.imatrix.gguf"),
            new Source("stories260K.", "engine/stories260K.gguf", "imatrix/stories260K.imatrix.gguf"));

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
        Map<String, Object> manifest = (Map<String, Object>) MiniJson.parse(
                Files.readString(SharedRef.require("quant/manifest.json")));
        Map<String, int[]> table = new TreeMap<>();   // type -> {matched, total}
        List<String> mismatches = new ArrayList<>();
        int files = 0;
        for (Source src : SOURCES) {
            Path modelPath = SharedRef.dir().resolve(src.model());
            if (!modelPath.toFile().exists()) continue;
            MiniGguf model = MiniGguf.open(modelPath);
            Map<String, float[]> weights = imat ? loadImatrix(SharedRef.dir().resolve(src.imatrix())) : Map.of();
            Map<String, String> cache = new HashMap<>();   // tensor|type -> our hash
            for (var file : manifest.entrySet()) {
                String fname = file.getKey();
                if (!fname.startsWith(src.prefix()) || fname.endsWith(".imatrix.gguf")) continue;
                if (fname.contains(".imat.") != imat) continue;
                files++;
                @SuppressWarnings("unchecked")
                List<Map<String, Object>> tensors = (List<Map<String, Object>>) ((Map<String, Object>) file.getValue()).get("tensors");
                for (Map<String, Object> t : tensors) {
                    QuantType type = typeByName((String) t.get("type"));
                    if (type == null) continue;
                    MiniGguf.Tensor in = model.tensors().get((String) t.get("name"));
                    if (in == null || (in.type() != 1 && in.type() != 0)) continue;
                    String key = in.name() + "|" + type;
                    String ours = cache.computeIfAbsent(key, k -> quantizeAndHash(model, in, type, weights.get(in.name())));
                    int[] row = table.computeIfAbsent(type + (weights.containsKey(in.name()) ? " (imatrix)" : ""),
                            k -> new int[2]);
                    row[1]++;
                    if (ours.equals(t.get("sha256"))) row[0]++;
                    else mismatches.add(fname + ": " + in.name() + " " + type);
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

    private static String quantizeAndHash(MiniGguf model, MiniGguf.Tensor in, QuantType type, float[] imatrix) {
        long ncols = in.ne()[0];
        long nrows = in.elements() / ncols;
        byte[] q = Quantizer.quantize(type, model.floats(in), nrows, ncols, imatrix, 2);
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(q));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** llama-quantize's per-column weights from a GGUF imatrix: in_sum2 / lround(count), or 1 where count is 0. */
    static Map<String, float[]> loadImatrix(Path path) throws IOException {
        MiniGguf g = MiniGguf.open(path);
        Map<String, float[]> out = new HashMap<>();
        for (MiniGguf.Tensor t : g.tensors().values()) {
            if (!t.name().endsWith(".in_sum2")) continue;
            String base = t.name().substring(0, t.name().length() - ".in_sum2".length());
            float[] sums = g.floats(t);
            float[] counts = g.floats(g.tensors().get(base + ".counts"));
            int per = sums.length / counts.length;
            float[] w = new float[sums.length];
            for (int i = 0; i < sums.length; i++) {
                float c = (float) Math.round((double) counts[i / per]);
                w[i] = c == 0 ? 1.0f : sums[i] / c;
            }
            out.put(base, w);
        }
        return out;
    }

    private static QuantType typeByName(String name) {
        try {
            return QuantType.valueOf(name);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }
}
