package dev.fabric.graph;

import dev.fabric.backend.DType;
import dev.fabric.model.ModelConfig;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * The llama-family decoders (llama, qwen2, qwen3) as a graph of coarse ops, described once from the
 * {@link ModelConfig}. Per block, as llama.cpp builds them:
 * <pre>
 *   h = x + Wo attention(rope(norm_q(Wq n)), rope(norm_k(Wk n)), Wv n)    n = rms_norm(x) * attn_norm
 *   x = h + Wdown (silu(Wgate m) * Wup m)                                  m = rms_norm(h) * ffn_norm
 * </pre>
 * (q/k norms for qwen3, q/k/v biases for qwen2), then the loss of output(rms_norm(x) * output_norm) against the
 * targets. Each linear layer adds {@code s * B (A x)} for the LoRA terms attached to its weight's exact name.
 * Nothing here knows the backend or whether gradients will be taken.
 */
public final class DecoderGraph {
    private DecoderGraph() {}

    /** A LoRA pair attached to one weight: A [r, n_in], B [n_out, r], scale s, dropout on its input. */
    public record LoraParams(Param a, Param b, float scale, float dropout) {}

    /** The graph and its per-call inputs (I32 [batch * ctx] each). */
    public record Built(Graph graph, Node tokens, Node positions, Node segments, Node targets) {}

    /**
     * @param weights   the model's parameters by GGUF tensor name
     * @param loras     LoRA pairs by the exact name of the weight they adapt
     * @param lossChunk tokens per chunk of the output projection + cross-entropy
     */
    public static Built build(ModelConfig c, Function<String, Param> weights, Map<String, List<LoraParams>> loras,
            int batch, int ctx, int lossChunk) {
        Graph g = new Graph();
        long t = (long) batch * ctx;
        Node tokens = g.input("tokens", DType.I32, t);
        Node pos = g.input("positions", DType.I32, t);
        Node seg = g.input("segments", DType.I32, t);
        Node targets = g.input("targets", DType.I32, t);
        Map<Param, Node> nodes = new IdentityHashMap<>();
        Function<String, Node> p = name -> {
            Param w = weights.apply(name);
            if (w == null) throw new IllegalArgumentException("no weight " + name);
            return nodes.computeIfAbsent(w, g::param);
        };
        int[] seedCounter = {0};
        Function<String, List<Graph.Lora>> lora = name -> {
            List<Graph.Lora> out = new ArrayList<>();
            for (LoraParams l : loras.getOrDefault(name, List.of()))
                out.add(new Graph.Lora(nodes.computeIfAbsent(l.a(), g::param), nodes.computeIfAbsent(l.b(), g::param),
                        l.scale(), l.dropout(), ++seedCounter[0]));
            return out;
        };
        float eps = c.rmsEps();
        int h = c.nHead(), hkv = c.nHeadKv(), hd = c.headDim();
        Node x = g.getRows(p.apply("token_embd.weight"), tokens);
        for (int l = 0; l < c.nLayer(); l++) {
            g.segment(l);
            String b = "blk." + l + ".";
            Node n = g.mul(g.rmsNorm(x, eps), p.apply(b + "attn_norm.weight"));
            boolean bias = c.arch().qkvBias();
            Node q = g.linear(n, p.apply(b + "attn_q.weight"), bias ? p.apply(b + "attn_q.bias") : null, lora.apply(b + "attn_q.weight"));
            Node k = g.linear(n, p.apply(b + "attn_k.weight"), bias ? p.apply(b + "attn_k.bias") : null, lora.apply(b + "attn_k.weight"));
            Node v = g.linear(n, p.apply(b + "attn_v.weight"), bias ? p.apply(b + "attn_v.bias") : null, lora.apply(b + "attn_v.weight"));
            if (c.arch().qkNorm()) {
                q = g.reshape(g.mul(g.rmsNorm(g.reshape(q, t * h, hd), eps), p.apply(b + "attn_q_norm.weight")), t, (long) h * hd);
                k = g.reshape(g.mul(g.rmsNorm(g.reshape(k, t * hkv, hd), eps), p.apply(b + "attn_k_norm.weight")), t, (long) hkv * hd);
            }
            q = g.rope(q, pos, h, c.nRot(), c.ropeTheta(), c.ropeLayout());
            k = g.rope(k, pos, hkv, c.nRot(), c.ropeTheta(), c.ropeLayout());
            Node a = g.attention(q, k, v, seg, batch, h, hkv, (float) (1 / Math.sqrt(hd)));
            x = g.add(x, g.linear(a, p.apply(b + "attn_output.weight"), null, lora.apply(b + "attn_output.weight")));
            Node m = g.mul(g.rmsNorm(x, eps), p.apply(b + "ffn_norm.weight"));
            Node gate = g.linear(m, p.apply(b + "ffn_gate.weight"), null, lora.apply(b + "ffn_gate.weight"));
            Node up = g.linear(m, p.apply(b + "ffn_up.weight"), null, lora.apply(b + "ffn_up.weight"));
            x = g.add(x, g.linear(g.swiglu(gate, up), p.apply(b + "ffn_down.weight"), null, lora.apply(b + "ffn_down.weight")));
        }
        g.segment(-1);
        Node f = g.mul(g.rmsNorm(x, eps), p.apply("output_norm.weight"));
        String out = c.tiedOutput() ? "token_embd.weight" : "output.weight";
        if (!loras.getOrDefault(out, List.of()).isEmpty())
            throw new IllegalArgumentException("LoRA on the output projection is not supported (" + out + ")");
        g.crossEntropy(f, p.apply(out), targets, lossChunk);
        return new Built(g, tokens, pos, seg, targets);
    }
}
