package dev.fabric.model;

import dev.fabric.FabricException;
import dev.fabric.backend.Backend;
import dev.fabric.backend.DType;
import dev.fabric.backend.Tensor;
import dev.fabric.gguf.GgufFile;
import dev.fabric.gguf.GgufTensorInfo;
import dev.fabric.gguf.TensorData;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A model's weights as zero-copy views of the memory-mapped GGUF file, in their stored types, named as
 * llama.cpp names them ({@code blk.N.attn_q.weight} ...). Shapes are row-major (GGUF's ne order reversed), so a
 * linear layer's weight is [n_out, n_in].
 */
public record ModelWeights(Tensor tokenEmbd, Tensor outputNorm, Tensor output, List<Layer> layers) {

    /** One transformer block. Biases and q/k norms are null where the arch has none. */
    public record Layer(Tensor attnNorm, Tensor wq, Tensor wk, Tensor wv, Tensor wo, Tensor bq, Tensor bk, Tensor bv,
            Tensor qNorm, Tensor kNorm, Tensor ffnNorm, Tensor wGate, Tensor wUp, Tensor wDown) {}

    public static ModelWeights load(GgufFile file, ModelConfig c, Backend backend) {
        return build(new Loader(file, c, backend), c);
    }

    /**
     * Checks, without a backend, what {@link #load} checks: every weight present, of a type the engine runs and of
     * the shape the configuration implies (for {@code fabric inspect}).
     */
    public static void check(GgufFile file, ModelConfig c) {
        build(new Loader(file, c, null), c);
    }

    private static ModelWeights build(Loader l, ModelConfig c) {
        String p0 = c.arch().ggufName() + ".";
        // where each expected dimension comes from, for the error message
        String e = "n_embd = " + p0 + "embedding_length", q = "n_head * head_dim", kv = "n_head_kv * head_dim",
                hd = "head_dim", ff = "n_ff = " + p0 + "feed_forward_length", v = "n_vocab = token_embd.weight's rows";
        List<Layer> layers = new ArrayList<>();
        for (int i = 0; i < c.nLayer(); i++) {
            String b = "blk." + i + ".";
            boolean bias = c.arch().qkvBias(), qk = c.arch().qkNorm();
            layers.add(new Layer(l.get(b + "attn_norm.weight", e, c.nEmbd()),
                    l.get(b + "attn_q.weight", q + " x " + e, c.qDim(), c.nEmbd()),
                    l.get(b + "attn_k.weight", kv + " x " + e, c.kvDim(), c.nEmbd()),
                    l.get(b + "attn_v.weight", kv + " x " + e, c.kvDim(), c.nEmbd()),
                    l.get(b + "attn_output.weight", e + " x " + q, c.nEmbd(), c.qDim()),
                    bias ? l.get(b + "attn_q.bias", q, c.qDim()) : null, bias ? l.get(b + "attn_k.bias", kv, c.kvDim()) : null,
                    bias ? l.get(b + "attn_v.bias", kv, c.kvDim()) : null,
                    qk ? l.get(b + "attn_q_norm.weight", hd, c.headDim()) : null,
                    qk ? l.get(b + "attn_k_norm.weight", hd, c.headDim()) : null,
                    l.get(b + "ffn_norm.weight", e, c.nEmbd()),
                    l.get(b + "ffn_gate.weight", ff + " x " + e, c.nFf(), c.nEmbd()),
                    l.get(b + "ffn_up.weight", ff + " x " + e, c.nFf(), c.nEmbd()),
                    l.get(b + "ffn_down.weight", e + " x " + ff, c.nEmbd(), c.nFf())));
        }
        Tensor embd = l.get("token_embd.weight", v + " x " + e, c.vocabSize(), c.nEmbd());
        return new ModelWeights(embd, l.get("output_norm.weight", e, c.nEmbd()),
                c.tiedOutput() ? embd : l.get("output.weight", v + " x " + e, c.vocabSize(), c.nEmbd()),
                List.copyOf(layers));
    }

    /** Wraps GGUF tensors as backend tensors (or only checks them, without a backend), checking names, shapes and types. */
    static final class Loader {
        private final GgufFile file;
        private final ModelConfig config;
        private final Backend backend;

        Loader(GgufFile file, ModelConfig config, Backend backend) {
            this.file = file;
            this.config = config;
            this.backend = backend;
        }

        /** The tensor {@code name} with row-major shape {@code shape}; {@code why} says where the shape comes from. */
        Tensor get(String name, String why, long... shape) {
            GgufTensorInfo info = file.tensor(name);
            if (info == null) throw new FabricException(file.path() + ": missing tensor " + name);
            String bad = shapeMismatch(file, info, shape);
            if (bad != null) throw new FabricException(bad + ", from " + why + " (" + describe(config) + ")");
            checkType(file, info);
            if (shape.length == 1 && info.type() != dev.fabric.gguf.GgmlType.F32)
                throw new FabricException(file.path() + ": tensor " + info.name() + " has type " + info.type()
                        + "; norm weights and biases must be F32 (as llama.cpp's converters write them)");
            return backend == null ? null : wrap(file, backend, info, shape);
        }
    }

    private static String describe(ModelConfig c) {
        return "n_embd " + c.nEmbd() + ", n_head " + c.nHead() + ", n_head_kv " + c.nHeadKv() + ", head_dim "
                + c.headDim() + ", n_ff " + c.nFf() + ", n_vocab " + c.vocabSize();
    }

    /** Null when {@code shape} (row-major) matches the tensor's dims, trailing 1s aside; else what is wrong. */
    private static String shapeMismatch(GgufFile file, GgufTensorInfo info, long... shape) {
        long[] ne = info.shape();
        long[] rev = new long[shape.length];
        for (int i = 0; i < shape.length; i++) rev[i] = info.ne(shape.length - 1 - i);
        long n = 1;
        for (long d : ne) n *= d;
        long want = 1;
        for (long d : shape) want *= d;
        if (!Arrays.equals(rev, shape) || n != want)
            return file.path() + ": tensor " + info.name() + " has shape " + Arrays.toString(ne)
                    + " (ggml order), expected " + Arrays.toString(reverse(shape));
        return null;
    }

    private static void checkType(GgufFile file, GgufTensorInfo info) {
        DType type = DType.ofGgmlId(info.type().id());
        if (type == null || type == DType.I32)
            throw new FabricException(file.path() + ": tensor " + info.name() + " has type " + info.type()
                    + ", which the engine cannot run yet (supported: " + Arrays.toString(DType.values()) + ")");
    }

    /** A backend view of a GGUF tensor; {@code shape} (row-major) must match its dims, trailing 1s aside. */
    static Tensor wrap(GgufFile file, Backend backend, GgufTensorInfo info, long... shape) {
        String bad = shapeMismatch(file, info, shape);
        if (bad != null) throw new FabricException(bad);
        checkType(file, info);
        DType type = DType.ofGgmlId(info.type().id());
        TensorData data = file.data(info);
        return backend.wrap(type, data.address(), file, shape);
    }

    private static long[] reverse(long[] s) {
        long[] r = new long[s.length];
        for (int i = 0; i < s.length; i++) r[i] = s[s.length - 1 - i];
        return r;
    }
}
