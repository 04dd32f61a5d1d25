package dev.fabric.model;

import dev.fabric.FabricException;
import dev.fabric.backend.RopeLayout;
import dev.fabric.gguf.GgufFile;
import dev.fabric.gguf.GgufMetadata;
import dev.fabric.gguf.GgufTensorInfo;
import java.util.ArrayList;
import java.util.List;

/**
 * The hyperparameters of a decoder model, read once from GGUF metadata ({@code <arch>.*} keys as llama.cpp's
 * converters write them) and the token embedding's shape.
 *
 * <p>{@link #fromGguf} checks every value on its own and against the others and the tensor table before anything
 * is allocated, and names the file and the GGUF key at fault ({@code m.gguf: qwen3.attention.head_count = 0: must
 * be at least 1}); the weights' shapes are checked by {@link ModelWeights}. The constructor repeats the
 * per-field rules for configurations built in code.
 *
 * @param headDim    per-head size of q and k ({@code attention.key_length}, else n_embd / n_head)
 * @param nRot       dims rotated per head ({@code rope.dimension_count}, else headDim)
 * @param tiedOutput true when the file has no {@code output.weight} and the token embedding is the output layer
 */
public record ModelConfig(Arch arch, int nEmbd, int nLayer, int nHead, int nHeadKv, int headDim, int nFf,
        float rmsEps, float ropeTheta, int nRot, int vocabSize, boolean tiedOutput, int contextLength) {

    /** Widths above this (q = n_head * head_dim and the like) are refused: no real model comes near, and products of them must fit a long. */
    static final int MAX_WIDTH = 1 << 24;
    /** Layer counts above this are refused (the largest published models have a few hundred). */
    static final int MAX_LAYERS = 1 << 16;

    public ModelConfig {
        List<String> bad = new ArrayList<>();
        String[] names = {"n_embd", "n_layer", "n_head", "n_head_kv", "head_dim", "n_ff", "n_rot", "vocab_size", "context_length"};
        int[] values = {nEmbd, nLayer, nHead, nHeadKv, headDim, nFf, nRot, vocabSize, contextLength};
        for (int i = 0; i < names.length; i++) if (values[i] <= 0) bad.add(names[i] + " = " + values[i]);
        if (!bad.isEmpty()) throw new FabricException("model hyperparameters must be positive: " + String.join(", ", bad));
        if (!(rmsEps > 0) || !Float.isFinite(rmsEps))
            throw new FabricException("rms_norm epsilon " + rmsEps + " must be a positive finite number");
        if (!(ropeTheta > 0) || !Float.isFinite(ropeTheta))
            throw new FabricException("rope theta " + ropeTheta + " must be a positive finite number");
        if (nHead % nHeadKv != 0)
            throw new FabricException("head_count " + nHead + " is not a multiple of head_count_kv " + nHeadKv);
        if (nRot > headDim || nRot % 2 != 0)
            throw new FabricException("rope.dimension_count " + nRot + " does not fit head size " + headDim);
        if ((long) nHead * headDim > MAX_WIDTH || nEmbd > MAX_WIDTH || nFf > MAX_WIDTH || nLayer > MAX_LAYERS)
            throw new FabricException("model hyperparameters too large: n_embd " + nEmbd + ", n_head * head_dim "
                    + (long) nHead * headDim + ", n_ff " + nFf + " (at most " + MAX_WIDTH + "), n_layer " + nLayer
                    + " (at most " + MAX_LAYERS + ")");
    }

    public RopeLayout ropeLayout() {
        return arch.rope();
    }

    /** Width of q (n_head * head_dim). */
    public int qDim() {
        return nHead * headDim;
    }

    /** Width of k and v (n_head_kv * head_dim). */
    public int kvDim() {
        return nHeadKv * headDim;
    }

    public static ModelConfig fromGguf(GgufFile file) {
        GgufMetadata md = file.metadata();
        String src = file.path().toString();
        if (!md.has("general.architecture")) throw new FabricException(src + ": no general.architecture key");
        String type = md.getString("general.type", "model");
        if (!type.equals("model"))
            throw new FabricException(src + ": general.type is '" + type + "', not a model (an adapter?)");
        Arch arch = Arch.of(md.getString("general.architecture"), src);
        Keys k = new Keys(md, src, arch.ggufName() + ".");
        int nEmbd = k.size("embedding_length", null, MAX_WIDTH);
        int nLayer = k.size("block_count", null, MAX_LAYERS);
        int nFf = k.size("feed_forward_length", null, MAX_WIDTH);
        int nHead = k.size("attention.head_count", null, MAX_WIDTH);
        int nHeadKv = k.size("attention.head_count_kv", nHead, MAX_WIDTH);
        if (nHead % nHeadKv != 0)
            throw k.error("attention.head_count_kv", nHeadKv, "must divide " + k.p + "attention.head_count = " + nHead);
        int headDim;
        if (md.has(k.p + "attention.key_length")) {
            headDim = k.size("attention.key_length", null, MAX_WIDTH);
        } else {
            if (nEmbd % nHead != 0)
                throw k.error("attention.head_count", nHead, "must divide " + k.p + "embedding_length = " + nEmbd
                        + " when the file gives no " + k.p + "attention.key_length");
            headDim = nEmbd / nHead;
        }
        if ((long) nHead * headDim > MAX_WIDTH)
            throw k.error("attention.head_count", nHead, "times the head size " + headDim + " exceeds " + MAX_WIDTH);
        if (md.has(k.p + "attention.value_length")) {
            int vl = k.size("attention.value_length", null, MAX_WIDTH);
            if (vl != headDim)
                throw k.error("attention.value_length", vl, "must equal the key head size " + headDim
                        + " (the engine runs equal q, k and v head sizes)");
        }
        int nRot = k.size("rope.dimension_count", headDim, MAX_WIDTH);
        if (nRot > headDim || nRot % 2 != 0)
            throw k.error("rope.dimension_count", nRot, "must be even and at most the head size " + headDim);
        int ctx = k.size("context_length", 2048, Integer.MAX_VALUE);
        float eps = k.positive("attention.layer_norm_rms_epsilon", 1e-5f);
        float theta = k.positive("rope.freq_base", 10000f);

        GgufTensorInfo embd = file.tensor("token_embd.weight");
        if (embd == null) throw new FabricException(src + ": no tensor token_embd.weight");
        if (embd.shape().length != 2 || embd.ne(0) != nEmbd)
            throw new FabricException(src + ": tensor token_embd.weight has shape "
                    + java.util.Arrays.toString(embd.shape()) + " (ggml order), expected [" + nEmbd + ", n_vocab] ("
                    + k.p + "embedding_length = " + nEmbd + ")");
        long vocab = embd.ne(1);
        if (vocab < 1 || vocab > Integer.MAX_VALUE)
            throw new FabricException(src + ": tensor token_embd.weight has " + vocab + " rows (the vocabulary size): "
                    + "must be 1.." + Integer.MAX_VALUE);
        if (md.has(k.p + "vocab_size") && md.getLong(k.p + "vocab_size") != vocab)
            throw k.error("vocab_size", md.getLong(k.p + "vocab_size"), "must equal token_embd.weight's " + vocab + " rows");
        if (md.has("tokenizer.ggml.tokens")) {
            int n = md.getArray("tokenizer.ggml.tokens").size();
            if (n != vocab)
                throw new FabricException(src + ": tokenizer.ggml.tokens has " + n + " tokens but token_embd.weight has "
                        + vocab + " rows: every token id needs an embedding row (as llama.cpp requires)");
        }
        for (GgufTensorInfo t : file.tensors()) {
            int block = blockOf(t.name());
            if (block >= nLayer)
                throw k.error("block_count", nLayer, "the file has more blocks: tensor " + t.name()
                        + " (blocks are numbered from 0)");
        }
        return new ModelConfig(arch, nEmbd, nLayer, nHead, nHeadKv, headDim, nFf, eps, theta, nRot, (int) vocab,
                file.tensor("output.weight") == null, ctx);
    }

    /** N for a tensor named {@code blk.N.*}, else -1. */
    static int blockOf(String name) {
        if (!name.startsWith("blk.")) return -1;
        int end = name.indexOf('.', 4);
        if (end <= 4 || end - 4 > 9) return -1;
        for (int i = 4; i < end; i++) if (name.charAt(i) < '0' || name.charAt(i) > '9') return -1;
        return Integer.parseInt(name, 4, end, 10);
    }

    /** Reads {@code <arch>.*} keys, with errors naming the file, the key and its value. */
    private record Keys(GgufMetadata md, String src, String p) {
        /** An integer key that must be 1..max; {@code dflt} when absent (null: required). */
        int size(String key, Integer dflt, int max) {
            String full = p + key;
            if (!md.has(full)) {
                if (dflt == null) throw new FabricException(src + ": missing metadata key '" + full + "'");
                return dflt;
            }
            long v = md.getLong(full);
            if (v < 1) throw error(key, v, "must be at least 1");
            if (v > max) throw error(key, v, "must be at most " + max);
            return (int) v;
        }

        /** A number key that must be finite and positive; {@code dflt} when absent. */
        float positive(String key, float dflt) {
            if (!md.has(p + key)) return dflt;
            float v = md.getFloat(p + key);
            if (!(v > 0) || !Float.isFinite(v)) throw error(key, v, "must be a positive finite number");
            return v;
        }

        FabricException error(String key, Object value, String rule) {
            return new FabricException(src + ": " + p + key + " = " + value + ": " + rule);
        }
    }
}
