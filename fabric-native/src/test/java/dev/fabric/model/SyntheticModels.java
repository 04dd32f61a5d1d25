package dev.fabric.model;

import dev.fabric.backend.cpu.NaiveOpsAccess;
import dev.fabric.gguf.GgmlType;
import dev.fabric.gguf.GgufMetadata;
import dev.fabric.gguf.GgufValue;
import dev.fabric.gguf.GgufWriter;
import dev.fabric.gguf.TensorSpec;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Small random models of each architecture written to GGUF (F32 weights), and a plain-Java forward pass over
 * the same weights built from the naive op references: the oracle of {@link Transformer}.
 */
public final class SyntheticModels {
    private SyntheticModels() {}

    public static final int EMBD = 24, HEADS = 4, KV_HEADS = 2, FF = 40, VOCAB = 50, LAYERS = 2;

    /** Head size: qwen3 declares key_length 8 (q width 32 != n_embd), the others use n_embd / n_head = 6. */
    public static int headDim(Arch a) {
        return a == Arch.QWEN3 ? 8 : EMBD / HEADS;
    }

    /** Random weights by name, row-major shapes (as the model sees them). */
    public static Map<String, float[]> weights(Arch a, Map<String, long[]> shapes, long seed) {
        Random r = new Random(seed);
        int hd = headDim(a), q = HEADS * hd, kv = KV_HEADS * hd;
        Map<String, float[]> w = new LinkedHashMap<>();
        java.util.function.BiConsumer<String, long[]> add = (name, shape) -> {
            int n = 1;
            for (long d : shape) n *= (int) d;
            float[] v = new float[n];
            boolean norm = name.contains("norm");
            for (int i = 0; i < n; i++) v[i] = norm ? 1f + 0.2f * (float) r.nextGaussian() : 0.3f * (float) r.nextGaussian();
            w.put(name, v);
            shapes.put(name, shape);
        };
        add.accept("token_embd.weight", new long[] {VOCAB, EMBD});
        add.accept("output_norm.weight", new long[] {EMBD});
        if (a != Arch.QWEN3) add.accept("output.weight", new long[] {VOCAB, EMBD});
        for (int l = 0; l < LAYERS; l++) {
            String p = "blk." + l + ".";
            add.accept(p + "attn_norm.weight", new long[] {EMBD});
            add.accept(p + "attn_q.weight", new long[] {q, EMBD});
            add.accept(p + "attn_k.weight", new long[] {kv, EMBD});
            add.accept(p + "attn_v.weight", new long[] {kv, EMBD});
            add.accept(p + "attn_output.weight", new long[] {EMBD, q});
            if (a.qkvBias()) {
                add.accept(p + "attn_q.bias", new long[] {q});
                add.accept(p + "attn_k.bias", new long[] {kv});
                add.accept(p + "attn_v.bias", new long[] {kv});
            }
            if (a.qkNorm()) {
                add.accept(p + "attn_q_norm.weight", new long[] {hd});
                add.accept(p + "attn_k_norm.weight", new long[] {hd});
            }
            add.accept(p + "ffn_norm.weight", new long[] {EMBD});
            add.accept(p + "ffn_gate.weight", new long[] {FF, EMBD});
            add.accept(p + "ffn_up.weight", new long[] {FF, EMBD});
            add.accept(p + "ffn_down.weight", new long[] {EMBD, FF});
        }
        return w;
    }

    public static Path write(Path file, String arch, Arch a, Map<String, float[]> w, Map<String, long[]> shapes) throws Exception {
        String p = arch + ".";
        GgufMetadata.Builder md = GgufMetadata.builder().putString("general.architecture", arch)
                .putU32(p + "embedding_length", EMBD).putU32(p + "block_count", LAYERS)
                .putU32(p + "feed_forward_length", FF).putU32(p + "attention.head_count", HEADS)
                .putU32(p + "attention.head_count_kv", KV_HEADS).putU32(p + "context_length", 64)
                .put(p + "attention.layer_norm_rms_epsilon", GgufValue.f32(1e-6f))
                .put(p + "rope.freq_base", GgufValue.f32(a == Arch.LLAMA ? 10000f : 1000000f));
        if (a == Arch.QWEN3) md.putU32(p + "attention.key_length", headDim(a)).putU32(p + "attention.value_length", headDim(a));
        List<TensorSpec> specs = new ArrayList<>();
        for (var e : w.entrySet()) {
            long[] s = shapes.get(e.getKey()), ne = new long[s.length];
            for (int i = 0; i < s.length; i++) ne[i] = s[s.length - 1 - i];
            specs.add(new TensorSpec(e.getKey(), ne, GgmlType.F32));
        }
        try (GgufWriter out = GgufWriter.create(file, md.build(), specs, 32)) {
            int i = 0;
            for (float[] v : w.values()) {
                ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
                b.asFloatBuffer().put(v);
                out.writeTensor(i++, b);
            }
            out.finish();
        }
        return file;
    }

    /** The reference forward pass: logits [n, VOCAB] for tokens at positions 0..n-1. */
    public static float[] naiveForward(Arch a, Map<String, float[]> w, int[] tokens) {
        int n = tokens.length, hd = headDim(a), q = HEADS * hd, kv = KV_HEADS * hd;
        float eps = 1e-6f, theta = a == Arch.LLAMA ? 10000f : 1000000f;
        int[] pos = new int[n];
        for (int i = 0; i < n; i++) pos[i] = i;
        float[] x = NaiveOpsAccess.getRows(w.get("token_embd.weight"), EMBD, tokens);
        for (int l = 0; l < LAYERS; l++) {
            String p = "blk." + l + ".";
            float[] h = NaiveOpsAccess.mul(NaiveOpsAccess.rmsNorm(x, n, EMBD, eps), EMBD, w.get(p + "attn_norm.weight"));
            float[] qq = NaiveOpsAccess.matmul(h, n, EMBD, w.get(p + "attn_q.weight"), q);
            float[] kk = NaiveOpsAccess.matmul(h, n, EMBD, w.get(p + "attn_k.weight"), kv);
            float[] vv = NaiveOpsAccess.matmul(h, n, EMBD, w.get(p + "attn_v.weight"), kv);
            if (a.qkvBias()) {
                qq = NaiveOpsAccess.add(qq, q, w.get(p + "attn_q.bias"));
                kk = NaiveOpsAccess.add(kk, kv, w.get(p + "attn_k.bias"));
                vv = NaiveOpsAccess.add(vv, kv, w.get(p + "attn_v.bias"));
            }
            if (a.qkNorm()) {
                qq = NaiveOpsAccess.mul(NaiveOpsAccess.rmsNorm(qq, n * HEADS, hd, eps), hd, w.get(p + "attn_q_norm.weight"));
                kk = NaiveOpsAccess.mul(NaiveOpsAccess.rmsNorm(kk, n * KV_HEADS, hd, eps), hd, w.get(p + "attn_k_norm.weight"));
            }
            boolean neox = a != Arch.LLAMA;
            qq = NaiveOpsAccess.rope(qq, n, HEADS, hd, hd, pos, theta, neox);
            kk = NaiveOpsAccess.rope(kk, n, KV_HEADS, hd, hd, pos, theta, neox);
            float[] att = NaiveOpsAccess.attention(qq, n, HEADS, hd, kk, vv, n, KV_HEADS, 0, (float) (1 / Math.sqrt(hd)));
            x = NaiveOpsAccess.add(x, EMBD, NaiveOpsAccess.matmul(att, n, q, w.get(p + "attn_output.weight"), EMBD));
            float[] m = NaiveOpsAccess.mul(NaiveOpsAccess.rmsNorm(x, n, EMBD, eps), EMBD, w.get(p + "ffn_norm.weight"));
            float[] g = NaiveOpsAccess.matmul(m, n, EMBD, w.get(p + "ffn_gate.weight"), FF);
            float[] u = NaiveOpsAccess.matmul(m, n, EMBD, w.get(p + "ffn_up.weight"), FF);
            x = NaiveOpsAccess.add(x, EMBD, NaiveOpsAccess.matmul(NaiveOpsAccess.swiglu(g, u), n, FF, w.get(p + "ffn_down.weight"), EMBD));
        }
        float[] f = NaiveOpsAccess.mul(NaiveOpsAccess.rmsNorm(x, n, EMBD, eps), EMBD, w.get("output_norm.weight"));
        float[] out = w.containsKey("output.weight") ? w.get("output.weight") : w.get("token_embd.weight");
        return NaiveOpsAccess.matmul(f, n, EMBD, out, VOCAB);
    }

}
