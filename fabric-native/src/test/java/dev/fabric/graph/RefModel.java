package dev.fabric.graph;

import dev.fabric.backend.RefOps;
import dev.fabric.model.Arch;
import dev.fabric.model.SyntheticModels;
import java.util.List;
import java.util.Map;

/**
 * The training loss of a {@link SyntheticModels} decoder in double precision, from its weights by name and LoRA
 * pairs by adapted weight name: the function the whole-model gradient checks differentiate numerically.
 */
final class RefModel {
    private RefModel() {}

    /** A LoRA pair in double: A [r, in], B [out, r]. */
    record Lora(double[] a, double[] b, int rank, double scale) {}

    static double loss(Arch arch, Map<String, double[]> w, Map<String, List<Lora>> loras, TrainingSession.Batch bt) {
        int t = bt.batch() * bt.ctx(), e = SyntheticModels.EMBD, h = SyntheticModels.HEADS, kvh = SyntheticModels.KV_HEADS;
        int hd = SyntheticModels.headDim(arch), q = h * hd, kv = kvh * hd, ff = SyntheticModels.FF, vocab = SyntheticModels.VOCAB;
        double eps = 1e-6, theta = arch == Arch.LLAMA ? 10000 : 1000000;
        boolean neox = arch != Arch.LLAMA;
        double[] x = RefOps.getRows(w.get("token_embd.weight"), e, bt.tokens());
        for (int l = 0; l < SyntheticModels.LAYERS; l++) {
            String p = "blk." + l + ".";
            double[] n = RefOps.mul(RefOps.rmsNorm(x, t, e, eps), w.get(p + "attn_norm.weight"));
            double[] qq = lin(w, loras, p + "attn_q", n, t, e, q), kk = lin(w, loras, p + "attn_k", n, t, e, kv),
                    vv = lin(w, loras, p + "attn_v", n, t, e, kv);
            if (arch.qkNorm()) {
                qq = RefOps.mul(RefOps.rmsNorm(qq, t * h, hd, eps), w.get(p + "attn_q_norm.weight"));
                kk = RefOps.mul(RefOps.rmsNorm(kk, t * kvh, hd, eps), w.get(p + "attn_k_norm.weight"));
            }
            qq = RefOps.rope(qq, t, h, hd, hd, bt.positions(), theta, neox);
            kk = RefOps.rope(kk, t, kvh, hd, hd, bt.positions(), theta, neox);
            double[] a = RefOps.attention(qq, kk, vv, bt.segments(), bt.batch(), bt.ctx(), h, kvh, hd, 1 / Math.sqrt(hd));
            x = RefOps.add(x, lin(w, loras, p + "attn_output", a, t, q, e));
            double[] m = RefOps.mul(RefOps.rmsNorm(x, t, e, eps), w.get(p + "ffn_norm.weight"));
            double[] g = lin(w, loras, p + "ffn_gate", m, t, e, ff), u = lin(w, loras, p + "ffn_up", m, t, e, ff);
            x = RefOps.add(x, lin(w, loras, p + "ffn_down", RefOps.swiglu(g, u), t, ff, e));
        }
        double[] f = RefOps.mul(RefOps.rmsNorm(x, t, e, eps), w.get("output_norm.weight"));
        double[] out = w.containsKey("output.weight") ? w.get("output.weight") : w.get("token_embd.weight");
        return RefOps.crossEntropy(RefOps.matmul(f, t, e, out, vocab), t, vocab, bt.targets());
    }

    private static double[] lin(Map<String, double[]> w, Map<String, List<Lora>> loras, String role, double[] x, int m,
            int k, int n) {
        double[] y = RefOps.matmul(x, m, k, w.get(role + ".weight"), n);
        for (Lora l : loras.getOrDefault(role + ".weight", List.of())) {
            double[] ax = RefOps.matmul(x, m, k, l.a(), l.rank());
            y = RefOps.add(y, RefOps.scale(RefOps.matmul(ax, m, l.rank(), l.b(), n), l.scale()));
        }
        if (w.containsKey(role + ".bias")) y = RefOps.add(y, w.get(role + ".bias"));
        return y;
    }
}
