package dev.fabric.quant.preset;

import static dev.fabric.gguf.GgmlType.F16;
import static dev.fabric.gguf.GgmlType.IQ4_NL;
import static dev.fabric.gguf.GgmlType.Q3_K;
import static dev.fabric.gguf.GgmlType.Q4_1;
import static dev.fabric.gguf.GgmlType.Q4_K;
import static dev.fabric.gguf.GgmlType.Q5_0;
import static dev.fabric.gguf.GgmlType.Q5_1;
import static dev.fabric.gguf.GgmlType.Q5_K;
import static dev.fabric.gguf.GgmlType.Q6_K;
import static dev.fabric.gguf.GgmlType.Q8_0;

import dev.fabric.FabricException;
import dev.fabric.gguf.GgmlType;
import java.util.ArrayList;
import java.util.List;

/**
 * Chooses the output type of every tensor as llama-quantize does (spec section 4): which tensors may be
 * quantized at all, explicit type flags, the preset's mixture (more bits for attn_v / ffn_down in chosen layers,
 * Q6_K output), and the fallback when a row length is not a multiple of the chosen type's block.
 *
 * <p>Where llama.cpp versions differ, this follows the build that made the reference files in shared/ref (a
 * 2026-03 fork, ggml 0.9.4): Q2_K/Q3_K/IQ4_XS fall back to IQ4_NL (current upstream: Q2_K/Q3_K to Q4_0), and a
 * fused attn_qkv gets its own rule instead of attn_v's. Mixture counters advance in {@link WeightOrder}.
 */
public final class TypePlanner {
    private final ModelShape model;
    private final TypeOptions opt;
    private final Preset preset;
    private final boolean hasOutput;
    private final int nAttentionWv;
    private int iAttentionWv;
    private int iFfnDown;

    private TypePlanner(ModelShape model, TypeOptions opt, List<WeightInfo> sorted) {
        this.model = model;
        this.opt = opt;
        this.preset = opt.preset();
        this.hasOutput = sorted.stream().anyMatch(w -> w.name().equals("output.weight"));
        this.nAttentionWv = (int) sorted.stream().filter(w -> isAttnVLike(w.name())).count();
    }

    /**
     * The choices for {@code weights} (any order), returned in {@link WeightOrder}. Throws {@link FabricException}
     * naming the tensor when a row length fits neither the chosen type nor a fallback.
     */
    public static List<TypeChoice> plan(ModelShape model, List<WeightInfo> weights, TypeOptions opt) {
        List<WeightInfo> sorted = new ArrayList<>(weights);
        sorted.sort((a, b) -> WeightOrder.INSTANCE.compare(a.name(), b.name()));
        TypePlanner p = new TypePlanner(model, opt, sorted);
        List<TypeChoice> out = new ArrayList<>(sorted.size());
        for (WeightInfo w : sorted) out.add(p.choose(w));
        return out;
    }

    private TypeChoice choose(WeightInfo w) {
        if (!allowsQuantization(w)) return new TypeChoice(w, w.type(), null);
        String name = w.name();
        boolean embd = name.equals("token_embd.weight") || name.equals("per_layer_token_embd.weight");
        // Explicit flags win without the shape fallback; an impossible one is refused here, not mid-write.
        if (embd && opt.tokenEmbeddingType() != null) return explicit(w, opt.tokenEmbeddingType(), "--token-embedding-type");
        if (name.equals("output.weight") && opt.outputTensorType() != null)
            return explicit(w, opt.outputTensorType(), "--output-tensor-type");
        GgmlType t = preset.defaultType();
        if (!preset.hasMixture()) return new TypeChoice(w, t, null);
        if (!opt.pure()) {
            boolean outputRule = name.equals("output.weight") || (!hasOutput && name.equals("token_embd.weight"));
            if (outputRule && opt.outputTensorType() != null)
                return explicit(w, opt.outputTensorType(), "--output-tensor-type");
            t = outputRule ? outputType(w, t) : mixture(name, t);
        }
        return fallback(w, t);
    }

    /** tensor_allows_quantization: 2-D and larger weights, minus norms, routers and small special tensors. */
    private boolean allowsQuantization(WeightInfo w) {
        String n = w.name();
        if (preset == Preset.COPY) return false;
        if (!n.endsWith("weight") || w.effectiveDims() < 2) return false;
        if (n.equals("output.weight") && opt.leaveOutputTensor()) return false;
        for (String s : NEVER_QUANTIZED) if (n.contains(s)) return false;
        return !n.equals("position_embd.weight") && !n.equals("token_types.weight");
    }

    private static final String[] NEVER_QUANTIZED = {
        "_norm.weight", "ffn_gate_inp.weight", "altup", "laurel", "ssm_conv1d.weight", "shortconv.conv.weight",
        "time_mix_first.weight", "time_mix_w0.weight", "time_mix_w1.weight", "time_mix_w2.weight",
        "time_mix_v0.weight", "time_mix_v1.weight", "time_mix_v2.weight", "time_mix_a0.weight",
        "time_mix_a1.weight", "time_mix_a2.weight", "time_mix_g1.weight", "time_mix_g2.weight",
        "time_mix_decay_w1.weight", "time_mix_decay_w2.weight", "time_mix_lerp_fused.weight",
        "attn_rel_b.weight", ".position_embd.",
    };

    /** output.weight (and token_embd when tied): Q6_K unless the preset is Q8_0; Q8_0 if the row is too short. */
    private GgmlType outputType(WeightInfo w, GgmlType dflt) {
        if (model.falcon() || w.ne(0) % dflt.blockSize() != 0) return Q8_0;
        return dflt == Q8_0 ? Q8_0 : Q6_K;
    }

    private GgmlType mixture(String name, GgmlType t) {
        if (name.equals("token_embd.weight") || name.equals("per_layer_token_embd.weight")) return t;
        if (name.contains("attn_v.weight")) return attnV(t);
        if (name.contains("attn_k.weight")) return model.nExpert() == 8 ? Q8_0 : t;
        if (name.contains("ffn_down")) return ffnDown(name, t);
        if (name.contains("attn_output.weight")) return attnOutput(t);
        if (name.contains("attn_qkv.weight")) {
            return switch (preset) {
                case Q3_K_M, Q3_K_L -> Q4_K;
                case Q4_K_M -> Q5_K;
                case Q5_K_M -> Q6_K;
                default -> t;
            };
        }
        return t;
    }

    private GgmlType attnV(GgmlType t) {
        int i = iAttentionWv++;
        int gqa = model.nGqa();
        GgmlType r = switch (preset) {
            case Q2_K -> gqa >= 4 ? Q4_K : Q3_K;
            case Q3_K_M -> i < 2 ? Q5_K : Q4_K;
            case Q3_K_L -> Q5_K;
            case IQ4_NL, IQ4_XS -> gqa >= 4 ? Q5_K : t;
            case Q4_K_M, Q5_K_M -> useMoreBits(i, nAttentionWv) ? Q6_K : t;
            case Q4_K_S -> i < 4 ? Q5_K : t;
            default -> t;
        };
        if (model.is70B() && r == Q4_K) r = Q5_K;
        if (model.nExpert() == 8) r = Q8_0;
        return r;
    }

    private GgmlType ffnDown(String name, GgmlType t) {
        int i = layerFor(name, iFfnDown++);
        int n = model.nLayer();
        boolean falcon = model.falcon();
        return switch (preset) {
            case Q2_K -> Q3_K;
            case Q3_K_M -> i < n / 16 ? Q5_K : (!falcon || useMoreBits(i, n)) ? Q4_K : Q3_K;
            case Q3_K_L -> falcon ? Q4_K : Q5_K;
            case Q4_K_M -> falcon ? (i < n / 16 ? Q6_K : useMoreBits(i, n) ? Q5_K : Q4_K)
                    : useMoreBits(i, n) ? Q6_K : t;
            case IQ4_NL, IQ4_XS -> i < n / 8 && !opt.hasImatrix() ? Q5_K : t;
            case Q5_K_M -> useMoreBits(i, n) ? Q6_K : t;
            case Q4_K_S -> !falcon && i < n / 8 ? Q5_K : t;
            // with an imatrix, the first eighth of ffn_down gets the asymmetric variant (guards against outliers)
            case Q4_0 -> opt.hasImatrix() && i < n / 8 ? Q4_1 : t;
            case Q5_0 -> opt.hasImatrix() && i < n / 8 ? Q5_1 : t;
            default -> t;
        };
    }

    private GgmlType attnOutput(GgmlType t) {
        if (model.falcon()) return preset == Preset.Q3_K_L ? Q4_K : t;
        if (model.nExpert() == 8) {
            return switch (preset) {
                case Q2_K, Q3_K_S, Q3_K_M, IQ4_NL, Q4_K_S, Q4_K_M, IQ4_XS -> Q5_K;
                default -> t;
            };
        }
        return switch (preset) {
            case Q2_K -> Q3_K;
            case Q3_K_M -> Q4_K;
            case Q3_K_L -> Q5_K;
            default -> t;
        };
    }

    /** Dense models count ffn_down tensors; MoE models read the layer from the name. */
    private int layerFor(String name, int counter) {
        if (model.nExpert() <= 1) return counter;
        int l = WeightOrder.layerOf(name);
        if (l < 0) throw new FabricException("cannot tell the layer of MoE tensor '" + name + "' (expected blk.N.)");
        return l;
    }

    /** use_more_bits: the first and last eighth of the layers, and every third one in between. */
    static boolean useMoreBits(int i, int n) {
        return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2;
    }

    /** tensor_type_fallback: rows that are not a multiple of the block size take a 32-wide type, else F16. */
    private TypeChoice fallback(WeightInfo w, GgmlType t) {
        long ne0 = w.ne(0);
        if (ne0 % t.blockSize() == 0) return new TypeChoice(w, t, null);
        GgmlType f = switch (t) {
            case Q2_K, Q3_K, IQ4_XS -> IQ4_NL;
            case Q4_K -> Q5_0;
            case Q5_K -> Q5_1;
            case Q6_K -> Q8_0;
            default -> throw new FabricException("tensor '" + w.name() + "' has rows of " + ne0 + " elements, not a "
                    + "multiple of " + t + "'s block of " + t.blockSize() + ", and " + t + " has no fallback type "
                    + "(llama-quantize stops here too: \"Unsupported tensor size\"); use a k-quant preset, whose "
                    + "fallback types handle such rows, or F16");
        };
        if (ne0 % f.blockSize() != 0) f = F16;
        return new TypeChoice(w, f, t);
    }

    private static TypeChoice explicit(WeightInfo w, GgmlType t, String flag) {
        if (w.ne(0) % t.blockSize() != 0)
            throw new FabricException(flag + " " + t + " cannot hold tensor '" + w.name() + "': its rows have "
                    + w.ne(0) + " elements, not a multiple of " + t + "'s block of " + t.blockSize(),
                    FabricException.EXIT_USAGE, null);
        return new TypeChoice(w, t, null);
    }

    private static boolean isAttnVLike(String n) {
        return n.contains("attn_v.weight") || n.contains("attn_qkv.weight") || n.contains("attn_kv_b.weight");
    }
}
