package dev.fabric.basemodel;

import dev.fabric.gguf.GgmlType;
import dev.fabric.gguf.GgufMetadata;
import dev.fabric.gguf.GgufWriter;
import dev.fabric.gguf.TensorSpec;
import dev.fabric.model.ModelConfig;
import dev.fabric.template.ChatTemplate;
import dev.fabric.tokenizer.Vocabulary;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * A small decoder as a GGUF file that llama.cpp and Fabric load: metadata and tensor names as llama.cpp's
 * converter writes them for the architecture, the vocabulary Fabric trained ({@link dev.fabric.tokenizer.BpeTrainer})
 * and the built-in ChatML template, every weight F32 (small models train all of them). Used for Fabric's own
 * base model: {@link #initialWeights} gives the starting point, training gives the rest.
 */
public final class BaseModelFile {
    private BaseModelFile() {}

    /** Tensor names and GGUF shapes (ne: innermost first) of a config, in llama.cpp's order. */
    public static List<TensorSpec> tensors(ModelConfig c) {
        List<TensorSpec> specs = new ArrayList<>();
        specs.add(f32("token_embd.weight", c.nEmbd(), c.vocabSize()));
        for (int i = 0; i < c.nLayer(); i++) {
            String b = "blk." + i + ".";
            specs.add(f32(b + "attn_norm.weight", c.nEmbd()));
            specs.add(f32(b + "attn_q.weight", c.nEmbd(), c.qDim()));
            specs.add(f32(b + "attn_k.weight", c.nEmbd(), c.kvDim()));
            specs.add(f32(b + "attn_v.weight", c.nEmbd(), c.kvDim()));
            specs.add(f32(b + "attn_output.weight", c.qDim(), c.nEmbd()));
            if (c.arch().qkNorm()) {
                specs.add(f32(b + "attn_q_norm.weight", c.headDim()));
                specs.add(f32(b + "attn_k_norm.weight", c.headDim()));
            }
            specs.add(f32(b + "ffn_norm.weight", c.nEmbd()));
            specs.add(f32(b + "ffn_gate.weight", c.nEmbd(), c.nFf()));
            specs.add(f32(b + "ffn_up.weight", c.nEmbd(), c.nFf()));
            specs.add(f32(b + "ffn_down.weight", c.nFf(), c.nEmbd()));
        }
        specs.add(f32("output_norm.weight", c.nEmbd()));
        if (!c.tiedOutput()) specs.add(f32("output.weight", c.nEmbd(), c.vocabSize()));
        return specs;
    }

    /**
     * Starting weights: norms 1, every matrix normal with standard deviation 0.02 (GPT-2's initialisation),
     * the output projections of each block scaled by 1/sqrt(2 layers) as GPT-2 does for residual branches.
     */
    public static Map<String, float[]> initialWeights(ModelConfig c, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        double residual = 0.02 / Math.sqrt(2.0 * c.nLayer());
        Map<String, float[]> w = new LinkedHashMap<>();
        for (TensorSpec s : tensors(c)) {
            float[] v = new float[Math.toIntExact(count(s))];
            if (s.shape().length == 1) {
                java.util.Arrays.fill(v, 1f);
            } else {
                boolean proj = s.name().endsWith("attn_output.weight") || s.name().endsWith("ffn_down.weight");
                double std = proj ? residual : 0.02;
                for (int i = 0; i < v.length; i++) v[i] = (float) (gaussian(r) * std);
            }
            w.put(s.name(), v);
        }
        return w;
    }

    /** The metadata of the model file: architecture keys, the vocabulary, ChatML as the chat template. */
    public static GgufMetadata metadata(ModelConfig c, Vocabulary v, String name) {
        String a = c.arch().ggufName();
        GgufMetadata.Builder md = GgufMetadata.builder().putString("general.architecture", a)
                .putString("general.type", "model").putString("general.name", name)
                .putU32("general.file_type", 0)
                .putU32(a + ".block_count", c.nLayer()).putU32(a + ".context_length", c.contextLength())
                .putU32(a + ".embedding_length", c.nEmbd()).putU32(a + ".feed_forward_length", c.nFf())
                .putU32(a + ".attention.head_count", c.nHead()).putU32(a + ".attention.head_count_kv", c.nHeadKv())
                .putF32(a + ".rope.freq_base", c.ropeTheta())
                .putF32(a + ".attention.layer_norm_rms_epsilon", c.rmsEps())
                .putU32(a + ".attention.key_length", c.headDim()).putU32(a + ".attention.value_length", c.headDim())
                .putString("tokenizer.ggml.model", v.model()).putString("tokenizer.ggml.pre", v.pre())
                .putStringArray("tokenizer.ggml.tokens", v.tokens())
                .putI32Array("tokenizer.ggml.token_type", v.tokenTypes())
                .putStringArray("tokenizer.ggml.merges", v.merges())
                .putU32("tokenizer.ggml.bos_token_id", v.bosId()).putU32("tokenizer.ggml.eos_token_id", v.eosId())
                .putBool("tokenizer.ggml.add_bos_token", false)
                .putString(ChatTemplate.KEY, ChatTemplate.named("chatml").source());
        if (v.eotId() >= 0) md.putU32("tokenizer.ggml.eot_token_id", v.eotId());
        if (v.padId() >= 0) md.putU32("tokenizer.ggml.padding_token_id", v.padId());
        return md.build();
    }

    /** Writes the model with every tensor F32 from {@code weights} (by name; each must be present and sized). */
    public static void write(Path out, ModelConfig c, Vocabulary v, String name, Map<String, float[]> weights)
            throws IOException {
        List<TensorSpec> specs = tensors(c);
        try (GgufWriter w = GgufWriter.create(out, metadata(c, v, name), specs, 32)) {
            for (int i = 0; i < specs.size(); i++) {
                TensorSpec s = specs.get(i);
                float[] x = weights.get(s.name());
                if (x == null || x.length != count(s))
                    throw new IllegalArgumentException(s.name() + ": " + (x == null ? "missing" : x.length + " values, "
                            + count(s) + " expected"));
                ByteBuffer b = ByteBuffer.allocate(4 * x.length).order(ByteOrder.LITTLE_ENDIAN);
                b.asFloatBuffer().put(x);
                w.writeTensor(i, b);
            }
            w.finish();
        }
    }

    private static long count(TensorSpec s) {
        long n = 1;
        for (long d : s.shape()) n *= d;
        return n;
    }

    private static TensorSpec f32(String name, long... ne) {
        return new TensorSpec(name, ne, GgmlType.F32);
    }

    /** A standard normal by Box-Muller from two uniforms of {@code r} (so the draw is specified, not JDK-dependent). */
    private static double gaussian(SplittableRandom r) {
        double u = 1.0 - r.nextDouble(), w = r.nextDouble();
        return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * w);
    }
}
