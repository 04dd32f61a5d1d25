package dev.fabric.quant.preset;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fabric.gguf.GgmlType;
import dev.fabric.testing.SharedRef;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * shared/ref/quant/manifest.json: for every llama-quantize output, the file's SHA-256 and size, its file type,
 * and each tensor in file order (type, shape, SHA-256 of its data). Test helper shared by the quantize tests.
 */
public final class RefManifest {
    /** One tensor as llama-quantize wrote it. */
    public record RefTensor(String name, GgmlType type, long[] shape, String sha256) {}

    /**
     * One output file: {@code <model>.<PRESET>[.imat].gguf}.
     *
     * @param model the input model's base name (e.g. {@code llama-spm-256x8-f16})
     */
    public record RefOutput(String file, String model, String preset, boolean imatrix, String sha256, long size,
                            int fileType, List<RefTensor> tensors) {
        public Path inputModel() {
            return model.equals("stories260K")
                    ? SharedRef.require("engine/stories260K.gguf")
                    : SharedRef.require("models/" + model + ".gguf");
        }

        public Path imatrixFile() {
            return SharedRef.require("imatrix/" + model + ".imatrix.gguf");
        }

        @Override
        public String toString() {
            return file;
        }
    }

    private RefManifest() {}

    private static List<RefOutput> cached;

    /** The quantized outputs (the imatrix files the manifest also lists are left out); parsed once. */
    public static synchronized List<RefOutput> outputs() {
        if (cached == null) cached = List.copyOf(parse());
        return cached;
    }

    private static List<RefOutput> parse() {
        Path m = SharedRef.require("quant/manifest.json");
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(m.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        List<RefOutput> out = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            var e = it.next();
            String file = e.getKey();
            JsonNode n = e.getValue();
            if (n.get("file_type") == null || n.get("file_type").isNull()) continue;
            String base = file.substring(0, file.length() - ".gguf".length());
            boolean imat = base.endsWith(".imat");
            if (imat) base = base.substring(0, base.length() - ".imat".length());
            int dot = base.lastIndexOf('.');
            List<RefTensor> ts = new ArrayList<>();
            for (JsonNode t : n.get("tensors")) {
                long[] shape = new long[t.get("shape").size()];
                for (int i = 0; i < shape.length; i++) shape[i] = t.get("shape").get(i).asLong();
                ts.add(new RefTensor(t.get("name").asText(), GgmlType.valueOf(t.get("type").asText()), shape,
                        t.get("sha256").asText()));
            }
            out.add(new RefOutput(file, base.substring(0, dot), base.substring(dot + 1), imat,
                    n.get("sha256").asText(), n.get("size").asLong(), n.get("file_type").asInt(), ts));
        }
        return out;
    }

    /** Group by model, keeping manifest order. */
    public static Map<String, List<RefOutput>> byModel() {
        Map<String, List<RefOutput>> m = new LinkedHashMap<>();
        for (RefOutput o : outputs()) m.computeIfAbsent(o.model(), k -> new ArrayList<>()).add(o);
        return m;
    }
}
