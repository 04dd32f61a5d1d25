package dev.fabric.lora;

import dev.fabric.FabricException;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The projection weights a LoRA may adapt, by their GGUF role ({@code blk.N.<role>.weight}) and their Hugging Face
 * module name (training.md, "Role names"). Only these seven matrices: norms, embeddings and the output head are
 * never targets.
 */
public enum LoraRole {
    ATTN_Q("attn_q", "self_attn", "q_proj"),
    ATTN_K("attn_k", "self_attn", "k_proj"),
    ATTN_V("attn_v", "self_attn", "v_proj"),
    ATTN_OUTPUT("attn_output", "self_attn", "o_proj"),
    FFN_GATE("ffn_gate", "mlp", "gate_proj"),
    FFN_UP("ffn_up", "mlp", "up_proj"),
    FFN_DOWN("ffn_down", "mlp", "down_proj");

    private final String gguf;
    private final String hfBlock;
    private final String hfModule;

    LoraRole(String gguf, String hfBlock, String hfModule) {
        this.gguf = gguf;
        this.hfBlock = hfBlock;
        this.hfModule = hfModule;
    }

    /** The role in GGUF tensor names, e.g. {@code attn_q}. */
    public String gguf() {
        return gguf;
    }

    /** The Hugging Face sub-block, {@code self_attn} or {@code mlp}. */
    public String hfBlock() {
        return hfBlock;
    }

    /** The Hugging Face / PEFT module name, e.g. {@code q_proj}. */
    public String hfModule() {
        return hfModule;
    }

    public static LoraRole ofGguf(String name) {
        for (LoraRole r : values()) if (r.gguf.equals(name)) return r;
        return null;
    }

    public static LoraRole ofHfModule(String name) {
        for (LoraRole r : values()) if (r.hfModule.equals(name)) return r;
        return null;
    }

    /**
     * Parses a list of role names: GGUF names ({@code attn_q}), PEFT module names ({@code q_proj}) or {@code all}.
     * Matching is exact (case-insensitive); anything else is refused, naming {@code field}.
     */
    public static Set<LoraRole> parse(List<String> names, String field) {
        if (names == null || names.isEmpty()) throw new FabricException(field + ": no LoRA target roles given");
        EnumSet<LoraRole> out = EnumSet.noneOf(LoraRole.class);
        for (String n : names) {
            String k = n.trim().toLowerCase(Locale.ROOT);
            if (k.equals("all")) {
                out.addAll(EnumSet.allOf(LoraRole.class));
                continue;
            }
            LoraRole r = ofGguf(k);
            if (r == null) r = ofHfModule(k);
            if (r == null)
                throw new FabricException(field + ": unknown LoRA target '" + n + "'; expected all or one of "
                        + "attn_q, attn_k, attn_v, attn_output, ffn_gate, ffn_up, ffn_down "
                        + "(or q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj)");
            out.add(r);
        }
        return out;
    }
}
