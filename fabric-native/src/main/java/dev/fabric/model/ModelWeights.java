package dev.fabric.model;

import dev.fabric.FabricException;
import dev.fabric.backend.Backend;
import dev.fabric.backend.DType;
import dev.fabric.backend.Tensor;
import dev.fabric.gguf.GgufFile;
import dev.fabric.gguf.GgufTensorInfo;
import dev.fabric.gguf.TensorData;
import java.util.ArrayList;
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
        Loader l = new Loader(file, backend);
        List<Layer> layers = new ArrayList<>();
        for (int i = 0; i < c.nLayer(); i++) {
            String b = "blk." + i + ".";
            boolean bias = c.arch().qkvBias(), qk = c.arch().qkNorm();
            layers.add(new Layer(l.get(b + "attn_norm.weight", c.nEmbd()),
                    l.get(b + "attn_q.weight", c.qDim(), c.nEmbd()), l.get(b + "attn_k.weight", c.kvDim(), c.nEmbd()),
                    l.get(b + "attn_v.weight", c.kvDim(), c.nEmbd()), l.get(b + "attn_output.weight", c.nEmbd(), c.qDim()),
                    bias ? l.get(b + "attn_q.bias", c.qDim()) : null, bias ? l.get(b + "attn_k.bias", c.kvDim()) : null,
                    bias ? l.get(b + "attn_v.bias", c.kvDim()) : null,
                    qk ? l.get(b + "attn_q_norm.weight", c.headDim()) : null,
                    qk ? l.get(b + "attn_k_norm.weight", c.headDim()) : null, l.get(b + "ffn_norm.weight", c.nEmbd()),
                    l.get(b + "ffn_gate.weight", c.nFf(), c.nEmbd()), l.get(b + "ffn_up.weight", c.nFf(), c.nEmbd()),
                    l.get(b + "ffn_down.weight", c.nEmbd(), c.nFf())));
        }
        Tensor embd = l.get("token_embd.weight", c.vocabSize(), c.nEmbd());
        return new ModelWeights(embd, l.get("output_norm.weight", c.nEmbd()),
                c.tiedOutput() ? embd : l.get("output.weight", c.vocabSize(), c.nEmbd()), List.copyOf(layers));
    }

    /** Wraps GGUF tensors as backend tensors, checking names, shapes and types. */
    static final class Loader {
        private final GgufFile file;
        private final Backend backend;

        Loader(GgufFile file, Backend backend) {
            this.file = file;
            this.backend = backend;
        }

        /** The tensor {@code name} with row-major shape {@code shape}. */
        Tensor get(String name, long... shape) {
            GgufTensorInfo info = file.tensor(name);
            if (info == null) throw new FabricException(file.path() + ": missing tensor " + name);
            return wrap(file, backend, info, shape);
        }
    }

    /** A backend view of a GGUF tensor; {@code shape} (row-major) must match its dims, trailing 1s aside. */
    static Tensor wrap(GgufFile file, Backend backend, GgufTensorInfo info, long... shape) {
        long[] ne = info.shape();
        long[] rev = new long[shape.length];
        for (int i = 0; i < shape.length; i++) rev[i] = info.ne(shape.length - 1 - i);
        long n = 1;
        for (long d : ne) n *= d;
        long want = 1;
        for (long d : shape) want *= d;
        if (!java.util.Arrays.equals(rev, shape) || n != want)
            throw new FabricException(file.path() + ": tensor " + info.name() + " has shape " + java.util.Arrays.toString(ne)
                    + " (ggml order), expected " + java.util.Arrays.toString(reverse(shape)));
        DType type = DType.ofGgmlId(info.type().id());
        if (type == null || type == DType.I32)
            throw new FabricException(file.path() + ": tensor " + info.name() + " has type " + info.type()
                    + ", which the engine cannot run yet (supported: " + java.util.Arrays.toString(DType.values()) + ")");
        TensorData data = file.data(info);
        return backend.wrap(type, data.address(), file, shape);
    }

    private static long[] reverse(long[] s) {
        long[] r = new long[s.length];
        for (int i = 0; i < s.length; i++) r[i] = s[s.length - 1 - i];
        return r;
    }
}
