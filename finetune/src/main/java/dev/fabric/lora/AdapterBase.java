package dev.fabric.lora;

import dev.fabric.FabricException;
import dev.fabric.gguf.GgufMetadata;

/**
 * What an adapter file records about its base model: the GGUF architecture, the attention head counts (needed for
 * the Llama q/k row permutation between GGUF and Hugging Face layouts) and the name PEFT's
 * {@code base_model_name_or_path} carries.
 */
public record AdapterBase(String arch, int nHead, int nHeadKv, String nameOrPath) {
    public AdapterBase {
        if (arch == null || arch.isEmpty()) throw new IllegalArgumentException("no architecture");
        if (nHead < 1 || nHeadKv < 1) throw new IllegalArgumentException("head counts must be positive");
        if (nameOrPath == null) nameOrPath = "";
    }

    /** From a base model's GGUF metadata ({@code <arch>.attention.head_count[_kv]}, {@code general.name}). */
    public static AdapterBase of(GgufMetadata md) {
        String arch = md.getString("general.architecture", "");
        if (arch.isEmpty()) throw new FabricException(md.source() + ": general.architecture is absent");
        int heads = md.getInt(arch + ".attention.head_count", -1);
        if (heads < 1) throw new FabricException(md.source() + ": " + arch + ".attention.head_count is absent");
        int kv = md.getInt(arch + ".attention.head_count_kv", heads);
        return new AdapterBase(arch, heads, kv, md.getString("general.name", ""));
    }

    /**
     * Whether GGUF stores this role's rows permuted relative to Hugging Face: q and k of the {@code llama}
     * architecture (llama.cpp's converter interleaves each head's rotary halves). Qwen2/Qwen3 are not permuted.
     */
    public boolean permutes(LoraRole role) {
        return arch.equals("llama") && (role == LoraRole.ATTN_Q || role == LoraRole.ATTN_K);
    }

    /** Heads over which {@code role}'s rows are permuted. */
    public int heads(LoraRole role) {
        return role == LoraRole.ATTN_K ? nHeadKv : nHead;
    }
}
