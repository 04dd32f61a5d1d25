package dev.fabric.quant.preset;

import dev.fabric.gguf.GgufArray;
import dev.fabric.gguf.GgufMetadata;
import dev.fabric.gguf.GgufValue;
import dev.fabric.gguf.GgufValueType;

/**
 * The hyper-parameters the mixture rules read (llama.cpp's {@code llama_hparams} as the loader fills them from
 * {@code <arch>.*} keys): layer count, query heads per KV head, experts, and the two architecture cases the rules
 * single out (Falcon, and a 70B-sized model).
 *
 * @param nGqa {@code head_count / head_count_kv}, 0 when the KV head count is 0
 */
public record ModelShape(String arch, int nLayer, int nGqa, int nExpert, boolean falcon, boolean is70B) {

    public static ModelShape of(GgufMetadata md) {
        String arch = md.getString("general.architecture");
        int nLayer = md.getInt(arch + ".block_count");
        int nHead = firstInt(md, arch + ".attention.head_count", 0);
        int nHeadKv = firstInt(md, arch + ".attention.head_count_kv", nHead);
        int nExpert = md.getInt(arch + ".expert_count", 0);
        int nGqa = nHeadKv == 0 ? 0 : nHead / nHeadKv;
        // LLM_TYPE_70B: llama.cpp sizes models by layer count; 80 layers with grouped KV is the 70B class
        // (Llama 2/3 70B, Qwen2 72B). Only the rules' "Q4_K becomes Q5_K for attn_v" depends on it.
        boolean is70B = nLayer == 80 && switch (arch) {
            case "llama" -> nHead != nHeadKv;
            case "qwen2" -> true;
            default -> false;
        };
        return new ModelShape(arch, nLayer, nGqa, nExpert, arch.equals("falcon"), is70B);
    }

    /** Head counts may be stored per layer as an array; llama.cpp's n_head() reads layer 0. */
    private static int firstInt(GgufMetadata md, String key, int dflt) {
        GgufValue v = md.get(key);
        if (v == null) return dflt;
        if (v.type() == GgufValueType.ARRAY) {
            GgufArray a = (GgufArray) v.value();
            return a.size() == 0 ? dflt : (int) a.getLong(0);
        }
        return md.getInt(key);
    }
}
