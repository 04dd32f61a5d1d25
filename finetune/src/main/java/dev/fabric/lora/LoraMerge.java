package dev.fabric.lora;

import dev.fabric.FabricException;
import dev.fabric.backend.Backend;
import dev.fabric.backend.DType;
import dev.fabric.backend.Tensor;
import dev.fabric.gguf.GgmlType;
import dev.fabric.gguf.GgufFile;
import dev.fabric.gguf.GgufMetadata;
import dev.fabric.gguf.GgufTensorInfo;
import dev.fabric.gguf.GgufWriter;
import dev.fabric.gguf.TensorSpec;
import dev.fabric.graph.TrainingSession;
import dev.fabric.model.Model;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Folds a LoRA adapter into its base model, as llama.cpp's {@code export-lora} does: every adapted weight becomes
 * {@code W + s·B·A} (s = user scale · alpha / r), computed in F32 and written in the chosen type (F16, BF16 or
 * F32); every other tensor is copied unchanged. The result is an ordinary model, e.g. the input of
 * {@code fabric quantize}.
 */
public final class LoraMerge {
    private LoraMerge() {}

    /** What was merged: adapted tensors and their output type. */
    public record Result(int merged, GgmlType type) {}

    public static Result merge(Path base, Path adapterFile, float userScale, GgmlType type, Path out, Backend backend)
            throws IOException {
        if (type != GgmlType.F32 && type != GgmlType.F16 && type != GgmlType.BF16)
            throw new FabricException("--type must be f16, bf16 or f32, got " + type, FabricException.EXIT_USAGE, null);
        if (!Float.isFinite(userScale))
            throw new FabricException("--lora-scale must be a finite number, got " + userScale, FabricException.EXIT_USAGE, null);
        try (Model model = Model.open(base, backend); LoraAdapter adapter = LoraAdapter.load(adapterFile, backend)) {
            String arch = model.config().arch().ggufName();
            if (!adapter.arch().isEmpty() && !adapter.arch().equals(arch))
                throw new FabricException(adapterFile + ": adapter is for architecture '" + adapter.arch() + "', "
                        + base + " is '" + arch + "'");
            Map<String, Tensor> weights = TrainingSession.named(model.config(), model.weights());
            GgufFile g = model.file();
            List<TensorSpec> specs = new ArrayList<>();
            for (GgufTensorInfo t : g.tensors()) {
                LoraAdapter.Pair p = adapter.pairs().get(t.name());
                if (p != null) {
                    Tensor w = weights.get(t.name());
                    if (w == null || w.rank() != 2)
                        throw new FabricException(adapterFile + ": " + t.name() + " is not a matrix the model multiplies by");
                    if (p.a().rank() != 2 || p.b().rank() != 2 || p.a().dim(1) != w.dim(1) || p.b().dim(0) != w.dim(0)
                            || p.b().dim(1) != p.a().dim(0))
                        throw new FabricException(adapterFile + ": " + t.name() + ".lora_a/.lora_b have shapes "
                                + java.util.Arrays.toString(p.a().shape()) + " and " + java.util.Arrays.toString(p.b().shape())
                                + ", which do not fit the weight's [" + w.dim(0) + ", " + w.dim(1) + "] (A is [r, n_in], B is"
                                + " [n_out, r])");
                    if (w.type() != DType.F32 && w.type() != DType.F16 && w.type() != DType.BF16)
                        throw new FabricException(base + ": " + t.name() + " is " + t.type() + "; merging needs an F32, F16 or "
                                + "BF16 base (merge into the unquantized model, then quantize the result)");
                }
                specs.add(p == null ? t.toSpec() : new TensorSpec(t.name(), t.shape(), type));
            }
            for (String name : adapter.pairs().keySet())
                if (g.tensor(name) == null)
                    throw new FabricException(adapterFile + ": adapts " + name + ", which " + base + " does not have");
            GgufMetadata.Builder md = GgufMetadata.builder();
            for (var e : g.metadata().asMap().entrySet()) md.put(e.getKey(), e.getValue());
            int merged = 0;
            try (GgufWriter wr = GgufWriter.create(out, List.of(base, adapterFile), md.build(), specs,
                    (int) g.alignment())) {
                for (int i = 0; i < specs.size(); i++) {
                    GgufTensorInfo t = g.tensors().get(i);
                    LoraAdapter.Pair p = adapter.pairs().get(t.name());
                    if (p == null) {
                        wr.writeTensor(i, g.data(t));
                        continue;
                    }
                    float[] w = floats(backend, weights.get(t.name()));
                    add(w, floats(backend, p.a()), floats(backend, p.b()), (int) p.b().dim(0), (int) p.a().dim(1),
                            p.rank(), adapter.scale(p, userScale));
                    wr.writeTensor(i, encode(w, type));
                    merged++;
                }
                wr.finish();
            }
            return new Result(merged, type);
        }
    }

    /** w[o, i] += s · Σ_k b[o, k] · a[k, i], with w [nOut, nIn], a [r, nIn], b [nOut, r] row-major. */
    static void add(float[] w, float[] a, float[] b, int nOut, int nIn, int r, float s) {
        for (int o = 0; o < nOut; o++) {
            int row = o * nIn;
            for (int k = 0; k < r; k++) {
                float c = s * b[o * r + k];
                if (c == 0f) continue;
                int ak = k * nIn;
                for (int i = 0; i < nIn; i++) w[row + i] += c * a[ak + i];
            }
        }
    }

    /** A weight, LoRA factor or norm as F32 values (rows gathered by the backend from their stored type). */
    static float[] floats(Backend b, Tensor t) {
        Tensor table = t.rank() == 1 ? t.reshape(1, t.dim(0)) : t;
        try (Tensor ids = b.allocate(DType.I32, table.dim(0)); Tensor out = b.allocate(DType.F32, table.dim(0), table.dim(1))) {
            int[] idx = new int[(int) table.dim(0)];
            for (int i = 0; i < idx.length; i++) idx[i] = i;
            b.write(ids, idx);
            b.get_rows(table, ids, out);
            return b.readFloats(out);
        }
    }

    static ByteBuffer encode(float[] w, GgmlType type) {
        ByteBuffer out = ByteBuffer.allocate(w.length * (type == GgmlType.F32 ? 4 : 2)).order(ByteOrder.LITTLE_ENDIAN);
        for (float x : w) {
            switch (type) {
                case F32 -> out.putFloat(x);
                case F16 -> out.putShort(Float.floatToFloat16(x));
                default -> out.putShort(bf16(x));
            }
        }
        return out.flip();
    }

    /** F32 to BF16 rounding to nearest even, NaN kept quiet (as ggml converts). */
    static short bf16(float x) {
        int u = Float.floatToRawIntBits(x);
        if ((u & 0x7fffffff) > 0x7f800000) return (short) ((u >>> 16) | 64);
        return (short) ((u + (0x7fff + ((u >>> 16) & 1))) >>> 16);
    }
}
