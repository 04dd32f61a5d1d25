package dev.fabric.lora;

import dev.fabric.FabricException;
import dev.fabric.backend.Backend;
import dev.fabric.backend.DType;
import dev.fabric.backend.Tensor;
import dev.fabric.gguf.GgufFile;
import dev.fabric.gguf.GgufMetadata;
import dev.fabric.gguf.GgufTensorInfo;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A LoRA adapter in llama.cpp's adapter GGUF ({@code general.type = adapter}, {@code adapter.type = lora},
 * {@code adapter.lora.alpha}, tensors {@code <base>.lora_a} / {@code <base>.lora_b}), loaded zero-copy for
 * inference. For a base weight W [n_out, n_in] the pair is A [rank, n_in] and B [n_out, rank] (row-major;
 * GGUF stores lora_a with ne = (n_in, rank) and lora_b with ne = (rank, n_out)), and the layer computes
 * {@code W x + s * B (A x)} with {@code s = userScale * alpha / rank} (just {@code userScale} when alpha is 0),
 * the scale llama.cpp applies, rank being lora_b's ne[0].
 */
public final class LoraAdapter implements AutoCloseable {
    /** The two factors of one adapted weight. */
    public record Pair(String base, Tensor a, Tensor b) {
        public int rank() {
            return (int) a.dim(0);
        }
    }

    private final GgufFile file;
    private final String arch;
    private final float alpha;
    private final Map<String, Pair> pairs;

    private LoraAdapter(GgufFile file, String arch, float alpha, Map<String, Pair> pairs) {
        this.file = file;
        this.arch = arch;
        this.alpha = alpha;
        this.pairs = pairs;
    }

    public static LoraAdapter load(Path path, Backend backend) throws IOException {
        GgufFile file = GgufFile.open(path);
        try {
            return read(file, backend);
        } catch (RuntimeException e) {
            file.close();
            throw e;
        }
    }

    private static LoraAdapter read(GgufFile file, Backend backend) {
        GgufMetadata md = file.metadata();
        String src = file.path().toString();
        if (!"adapter".equals(md.getString("general.type", "")))
            throw new FabricException(src + ": general.type is '" + md.getString("general.type", "(absent)")
                    + "', expected 'adapter'");
        if (!"lora".equals(md.getString("adapter.type", "")))
            throw new FabricException(src + ": adapter.type is '" + md.getString("adapter.type", "(absent)")
                    + "', expected 'lora'");
        float alpha = md.getFloat("adapter.lora.alpha", 0f);
        if (!Float.isFinite(alpha) || alpha < 0)
            throw new FabricException(src + ": adapter.lora.alpha = " + alpha + ": must be a finite number >= 0");
        Map<String, Pair> pairs = new LinkedHashMap<>();
        for (GgufTensorInfo a : file.tensors()) {
            if (!a.name().endsWith(".lora_a")) {
                if (!a.name().endsWith(".lora_b"))
                    throw new FabricException(src + ": tensor " + a.name() + " is neither a .lora_a nor a .lora_b");
                continue;
            }
            String base = a.name().substring(0, a.name().length() - ".lora_a".length());
            GgufTensorInfo b = file.tensor(base + ".lora_b");
            if (b == null) throw new FabricException(src + ": " + a.name() + " has no matching " + base + ".lora_b");
            long rank = a.ne(1), nIn = a.ne(0), nOut = b.ne(1);
            if (b.ne(0) != rank)
                throw new FabricException(src + ": " + base + ": lora_a rank " + rank + " != lora_b ne[0] " + b.ne(0));
            if (rank < 1 || nIn < 1 || nOut < 1)
                throw new FabricException(src + ": " + base + ": lora_a " + java.util.Arrays.toString(a.shape())
                        + " and lora_b " + java.util.Arrays.toString(b.shape()) + " (ggml order) have a zero dimension");
            pairs.put(base, new Pair(base, wrap(file, backend, a, rank, nIn), wrap(file, backend, b, nOut, rank)));
        }
        for (GgufTensorInfo b : file.tensors())
            if (b.name().endsWith(".lora_b") && !pairs.containsKey(b.name().substring(0, b.name().length() - 7)))
                throw new FabricException(src + ": " + b.name() + " has no matching .lora_a");
        if (pairs.isEmpty()) throw new FabricException(src + ": the adapter has no lora_a/lora_b tensors");
        return new LoraAdapter(file, md.getString("general.architecture", ""), alpha, Map.copyOf(pairs));
    }

    private static Tensor wrap(GgufFile file, Backend backend, GgufTensorInfo t, long rows, long cols) {
        DType type = DType.ofGgmlId(t.type().id());
        if (type == null || type == DType.I32)
            throw new FabricException(file.path() + ": " + t.name() + " has type " + t.type()
                    + "; LoRA factors must be F32, F16 or BF16");
        return backend.wrap(type, file.data(t).address(), file, rows, cols);
    }

    public Path path() {
        return file.path();
    }

    /** {@code general.architecture} of the adapter (the base model's arch). */
    public String arch() {
        return arch;
    }

    public float alpha() {
        return alpha;
    }

    /** The pairs by base tensor name. */
    public Map<String, Pair> pairs() {
        return pairs;
    }

    /** The factor s in {@code W x + s B (A x)} for a pair at a user scale (llama.cpp's formula). */
    public float scale(Pair p, float userScale) {
        return alpha == 0f ? userScale : userScale * alpha / p.rank();
    }

    @Override
    public void close() {
        file.close();
    }
}
