package dev.fabric.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.fabric.FabricException;
import dev.fabric.gguf.GgufArray;
import dev.fabric.gguf.GgufFile;
import dev.fabric.gguf.GgufMetadata;
import dev.fabric.gguf.GgufTensorInfo;
import dev.fabric.gguf.GgufValue;
import dev.fabric.model.Arch;
import dev.fabric.model.ModelConfig;
import dev.fabric.model.ModelWeights;
import java.io.PrintStream;
import java.lang.reflect.Array;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code fabric inspect}: what a GGUF holds, without loading its weights. */
@Command(name = "inspect", mixinStandardHelpOptions = true,
        description = {"Show a GGUF file's architecture, hyper-parameters, metadata and tensor table.",
            "Reads only the header; tensor data stays on disk."},
        footer = {"", "Examples:", "  fabric inspect model.gguf", "  fabric inspect --json model.gguf > model.json",
            "  fabric inspect --max-array 0 model.gguf   # print arrays whole"})
public final class InspectCommand implements Callable<Integer> {
    /** Hyper-parameters shown first, as {@code <arch>.<suffix>}. */
    private static final String[] HPARAMS = {"context_length", "embedding_length", "block_count",
        "feed_forward_length", "attention.head_count", "attention.head_count_kv", "attention.key_length",
        "attention.value_length", "attention.layer_norm_rms_epsilon", "rope.freq_base", "rope.dimension_count",
        "rope.scaling.type", "rope.scaling.factor", "vocab_size"};

    @Parameters(index = "0", paramLabel = "MODEL.gguf", description = "The GGUF file to inspect.")
    Path model;

    @Option(names = "--json", description = "Print one JSON document instead of text.")
    boolean json;

    @Option(names = "--max-array", paramLabel = "N", defaultValue = "8",
            description = "Show at most N items of each metadata array (0 = all; default ${DEFAULT-VALUE}).")
    int maxArray;

    @Override
    public Integer call() throws Exception {
        Limits.atLeast(maxArray, 0, "--max-array");
        try (GgufFile f = GgufFile.open(model)) {
            Map<String, Object> doc = describe(f, maxArray);
            String problem = modelProblem(f);
            if (problem != null) doc.put("model_check", problem);
            PrintStream out = System.out;
            if (json) {
                out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(doc));
            } else {
                printText(f, doc, out);
            }
            out.flush();
            // the file is shown whatever its faults (that is when one needs to see it), then they are the exit status
            if (problem != null) throw new FabricException("this model would not load: " + problem);
        }
        return 0;
    }

    /**
     * For a file that presents itself as a model of an architecture the engine runs (general.type model or absent,
     * tensors present), the first fault {@code generate} would meet loading it (hyper-parameters, tensor shapes and
     * types); null when there is none or the file is something else (a vocabulary, an adapter, an imatrix).
     */
    static String modelProblem(GgufFile f) {
        GgufMetadata md = f.metadata();
        if (f.tensors().isEmpty() || !md.has("general.architecture")) return null;
        if (md.get("general.type") != null && !"model".equals(md.getString("general.type", ""))) return null;
        if (md.get("general.architecture").type() != dev.fabric.gguf.GgufValueType.STRING) return null;
        String arch = md.getString("general.architecture");
        if (java.util.Arrays.stream(Arch.values()).noneMatch(a -> a.ggufName().equals(arch))) return null;
        try {
            ModelWeights.check(f, ModelConfig.fromGguf(f));
            return null;
        } catch (FabricException e) {
            return e.getMessage();
        }
    }

    static Map<String, Object> describe(GgufFile f, int maxArray) {
        GgufMetadata md = f.metadata();
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("file", f.path().toString());
        doc.put("file_size", f.fileSize());
        doc.put("gguf_version", f.version());
        doc.put("alignment", f.alignment());
        String arch = md.getString("general.architecture", null);
        doc.put("architecture", arch);
        Map<String, Object> hp = new LinkedHashMap<>();
        if (arch != null) {
            for (String s : HPARAMS) {
                String k = arch + "." + s;
                if (md.has(k)) hp.put(s, plain(md.get(k), 0));
            }
        }
        if (md.has("tokenizer.ggml.tokens")) hp.put("n_vocab", md.getStringArray("tokenizer.ggml.tokens").size());
        doc.put("hyperparameters", hp);
        Map<String, Object> meta = new LinkedHashMap<>();
        for (String k : md.keys()) {
            GgufValue v = md.get(k);
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("type", typeName(v));
            e.put("value", plain(v, maxArray));
            meta.put(k, e);
        }
        doc.put("metadata", meta);
        List<Map<String, Object>> tensors = new ArrayList<>();
        long params = 0, bytes = 0;
        Map<String, long[]> perType = new TreeMap<>();
        for (GgufTensorInfo t : f.tensors()) {
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("name", t.name());
            e.put("type", t.type().name());
            e.put("shape", t.shape());
            e.put("bytes", t.byteSize());
            e.put("offset", t.offset());
            tensors.add(e);
            params += t.elements();
            bytes += t.byteSize();
            long[] agg = perType.computeIfAbsent(t.type().name(), x -> new long[3]);
            agg[0]++;
            agg[1] += t.elements();
            agg[2] += t.byteSize();
        }
        doc.put("tensor_count", tensors.size());
        doc.put("parameters", params);
        doc.put("tensor_bytes", bytes);
        doc.put("bits_per_weight", params == 0 ? 0.0 : 8.0 * bytes / params);
        Map<String, Object> types = new LinkedHashMap<>();
        perType.forEach((k, v) -> types.put(k, Map.of("tensors", v[0], "parameters", v[1], "bytes", v[2])));
        doc.put("types", types);
        doc.put("tensors", tensors);
        return doc;
    }

    private static String typeName(GgufValue v) {
        String t = v.type().name().toLowerCase(Locale.ROOT);
        if (v.value() instanceof GgufArray a) {
            t = "array[" + a.elementType().name().toLowerCase(Locale.ROOT) + "; " + a.size() + "]";
        }
        return t;
    }

    /** A metadata value as JSON-friendly Java objects; arrays cut to {@code max} items (0 = all). */
    private static Object plain(GgufValue v, int max) {
        return plainObject(v.value(), max);
    }

    private static Object plainObject(Object o, int max) {
        if (o instanceof GgufArray a) o = a.values();
        if (o != null && o.getClass().isArray()) {
            int len = Array.getLength(o);
            List<Object> out = new ArrayList<>();
            int n = max == 0 ? len : Math.min(max, len);
            for (int i = 0; i < n; i++) out.add(plainObject(Array.get(o, i), max));
            if (n < len) out.add("... (" + len + " items)");
            return out;
        }
        return o;
    }

    @SuppressWarnings("unchecked")
    private static void printText(GgufFile f, Map<String, Object> doc, PrintStream out) {
        out.printf("file:          %s (%s)%n", doc.get("file"), human((long) doc.get("file_size")));
        out.printf("format:        GGUF v%d, alignment %d%n", f.version(), f.alignment());
        out.printf("architecture:  %s%n", doc.get("architecture"));
        Map<String, Object> hp = (Map<String, Object>) doc.get("hyperparameters");
        hp.forEach((k, v) -> out.printf("  %-34s %s%n", k, v));
        long params = (long) doc.get("parameters");
        out.printf("parameters:    %,d (%s), %s of tensor data, %.2f bits per weight%n", params, count(params),
                human((long) doc.get("tensor_bytes")), (double) doc.get("bits_per_weight"));
        Map<String, Map<String, Long>> types = (Map<String, Map<String, Long>>) (Object) doc.get("types");
        types.forEach((k, v) -> out.printf("  %-8s %5d tensors %14s params %10s%n", k, v.get("tensors"),
                String.format("%,d", v.get("parameters")), human(v.get("bytes"))));
        out.println();
        Map<String, Map<String, Object>> meta = (Map<String, Map<String, Object>>) (Object) doc.get("metadata");
        out.printf("metadata (%d keys):%n", meta.size());
        meta.forEach((k, e) -> out.printf("  %-44s %-12s %s%n", k, e.get("type"), oneLine(e.get("value"))));
        out.println();
        out.printf("tensors (%d):%n", f.tensors().size());
        out.printf("  %-40s %-8s %-24s %12s%n", "name", "type", "shape", "bytes");
        for (GgufTensorInfo t : f.tensors()) {
            out.printf("  %-40s %-8s %-24s %,12d%n", t.name(), t.type().name(), shape(t.shape()), t.byteSize());
        }
    }

    private static String oneLine(Object v) {
        String s = v instanceof List<?> l ? l.toString() : String.valueOf(v);
        s = s.replace("\n", "\\n");
        return s.length() > 160 ? s.substring(0, 157) + "..." : s;
    }

    static String shape(long[] ne) {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < ne.length; i++) sb.append(i == 0 ? "" : ", ").append(ne[i]);
        return sb.append(']').toString();
    }

    static String human(long bytes) {
        if (bytes < 1024) return bytes + " B";
        String[] u = {"KiB", "MiB", "GiB", "TiB"};
        double v = bytes;
        int i = -1;
        while (v >= 1024 && i < u.length - 1) {
            v /= 1024;
            i++;
        }
        return String.format(Locale.ROOT, "%.2f %s", v, u[i]);
    }

    private static String count(long n) {
        if (n >= 1_000_000_000L) return String.format(Locale.ROOT, "%.2f B", n / 1e9);
        if (n >= 1_000_000L) return String.format(Locale.ROOT, "%.2f M", n / 1e6);
        if (n >= 1_000L) return String.format(Locale.ROOT, "%.2f K", n / 1e3);
        return Long.toString(n);
    }
}
