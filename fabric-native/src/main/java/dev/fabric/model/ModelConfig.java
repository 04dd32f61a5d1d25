package dev.fabric.model;

import dev.fabric.FabricException;
import dev.fabric.backend.RopeLayout;
import dev.fabric.gguf.GgufFile;
import dev.fabric.gguf.GgufMetadata;
import dev.fabric.gguf.GgufTensorInfo;

/**
 * The hyperparameters of a decoder model, read once from GGUF metadata ({@code <arch>.*} keys as llama.cpp's
 * converters write them) and the token embedding's shape.
 *
 * @param headDim    per-head size of q and k ({@code attention.key_length}, else n_embd / n_head)
 * @param nRot       dims rotated per head ({@code rope.dimension_count}, else headDim)
 * @param tiedOutput true when the file has no {@code output.weight} and the token embedding is the output layer
 */
public record ModelConfig(Arch arch, int nEmbd, int nLayer, int nHead, int nHeadKv, int headDim, int nFf,
        float rmsEps, float ropeTheta, int nRot, int vocabSize, boolean tiedOutput, int contextLength) {

    public ModelConfig {
        if (nEmbd <= 0 || nLayer <= 0 || nHead <= 0 || nHeadKv <= 0 || headDim <= 0 || nFf <= 0 || vocabSize <= 0)
            throw new FabricException("model hyperparameters must be positive: " + this);
        if (nHead % nHeadKv != 0)
            throw new FabricException("head_count " + nHead + " is not a multiple of head_count_kv " + nHeadKv);
        if (nRot <= 0 || nRot > headDim || nRot % 2 != 0)
            throw new FabricException("rope.dimension_count " + nRot + " does not fit head size " + headDim);
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
        String p = arch.ggufName() + ".";
        int nEmbd = need(md, p + "embedding_length", src);
        int nHead = need(md, p + "attention.head_count", src);
        int headDim = md.getInt(p + "attention.key_length", nEmbd / nHead);
        GgufTensorInfo embd = file.tensor("token_embd.weight");
        if (embd == null) throw new FabricException(src + ": no tensor token_embd.weight");
        return new ModelConfig(arch, nEmbd, need(md, p + "block_count", src), nHead,
                md.getInt(p + "attention.head_count_kv", nHead), headDim, need(md, p + "feed_forward_length", src),
                md.getFloat(p + "attention.layer_norm_rms_epsilon", 1e-5f),
                md.getFloat(p + "rope.freq_base", 10000f), md.getInt(p + "rope.dimension_count", headDim),
                (int) embd.ne(1), file.tensor("output.weight") == null, md.getInt(p + "context_length", 2048));
    }

    private static int need(GgufMetadata md, String key, String src) {
        if (!md.has(key)) throw new FabricException(src + ": missing metadata key '" + key + "'");
        return md.getInt(key);
    }
}
