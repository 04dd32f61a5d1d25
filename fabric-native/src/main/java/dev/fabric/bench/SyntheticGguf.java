package dev.fabric.bench;

import dev.fabric.gguf.GgmlType;
import dev.fabric.gguf.GgufFile;
import dev.fabric.gguf.GgufMetadata;
import dev.fabric.gguf.GgufWriter;
import dev.fabric.gguf.TensorSpec;
import dev.fabric.model.ModelConfig;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Writes a model of a given shape with random F16 weights (F32 norms of 1) as a GGUF that llama.cpp loads, with
 * the tokenizer keys of a vocabulary-only GGUF copied in: the same file can then be timed by {@code fabric bench
 * model} and by llama-bench. Tensor names and metadata keys as llama.cpp's HF converter writes them for the arch;
 * the output is tied to the token embedding when the config says so.
 */
public final class SyntheticGguf {
    private SyntheticGguf() {}

    /** The named shapes: Qwen3 0.6B, 1.7B and 4B (their published config.json values; tied embeddings). */
    public static ModelConfig shape(String name, int layers) {
        ModelConfig c = switch (name) {
            case "qwen3-0.6b" -> EngineBench.qwen3_0_6B(28);
            case "qwen3-1.7b" -> new ModelConfig(dev.fabric.model.Arch.QWEN3, 2048, 28, 16, 8, 128, 6144, 1e-6f,
                    1_000_000f, 128, 151_936, true, 40_960);
            case "qwen3-4b" -> new ModelConfig(dev.fabric.model.Arch.QWEN3, 2560, 36, 32, 8, 128, 9728, 1e-6f,
                    1_000_000f, 128, 151_936, true, 40_960);
            default -> throw new dev.fabric.FabricException("unknown shape '" + name
                    + "' (known: qwen3-0.6b, qwen3-1.7b, qwen3-4b)", dev.fabric.FabricException.EXIT_USAGE, null);
        };
        if (layers <= 0) return c;
        return new ModelConfig(c.arch(), c.nEmbd(), layers, c.nHead(), c.nHeadKv(), c.headDim(), c.nFf(), c.rmsEps(),
                c.ropeTheta(), c.nRot(), c.vocabSize(), c.tiedOutput(), c.contextLength());
    }

    /**
     * Writes {@code c} to {@code out} with the tokenizer of {@code vocab} (its token count replaces the config's
     * vocabulary size). Returns the config as written.
     */
    public static ModelConfig write(ModelConfig c, Path vocab, Path out, long seed) throws IOException {
        GgufMetadata.Builder md = GgufMetadata.builder();
        int nVocab;
        try (GgufFile v = GgufFile.open(vocab)) {
            for (Map.Entry<String, dev.fabric.gguf.GgufValue> e : v.metadata().asMap().entrySet())
                if (e.getKey().startsWith("tokenizer.")) md.put(e.getKey(), e.getValue());
            nVocab = v.metadata().getStringArray("tokenizer.ggml.tokens").size();
        }
        c = new ModelConfig(c.arch(), c.nEmbd(), c.nLayer(), c.nHead(), c.nHeadKv(), c.headDim(), c.nFf(), c.rmsEps(),
                c.ropeTheta(), c.nRot(), nVocab, c.tiedOutput(), c.contextLength());
        String a = c.arch().ggufName();
        GgufMetadata.Builder head = GgufMetadata.builder().putString("general.architecture", a)
                .putString("general.type", "model")
                .putString("general.name", "fabric synthetic " + a + " " + c.nLayer() + "x" + c.nEmbd())
                .putU32("general.file_type", 1)
                .putU32(a + ".block_count", c.nLayer()).putU32(a + ".context_length", c.contextLength())
                .putU32(a + ".embedding_length", c.nEmbd()).putU32(a + ".feed_forward_length", c.nFf())
                .putU32(a + ".attention.head_count", c.nHead()).putU32(a + ".attention.head_count_kv", c.nHeadKv())
                .putF32(a + ".rope.freq_base", c.ropeTheta())
                .putF32(a + ".attention.layer_norm_rms_epsilon", c.rmsEps())
                .putU32(a + ".attention.key_length", c.headDim()).putU32(a + ".attention.value_length", c.headDim());
        for (var e : md.build().asMap().entrySet()) head.put(e.getKey(), e.getValue());

        List<TensorSpec> specs = new ArrayList<>();
        specs.add(new TensorSpec("token_embd.weight", new long[] {c.nEmbd(), nVocab}, GgmlType.F16));
        for (int i = 0; i < c.nLayer(); i++) {
            String b = "blk." + i + ".";
            specs.add(new TensorSpec(b + "attn_norm.weight", new long[] {c.nEmbd()}, GgmlType.F32));
            specs.add(new TensorSpec(b + "attn_q.weight", new long[] {c.nEmbd(), c.qDim()}, GgmlType.F16));
            specs.add(new TensorSpec(b + "attn_k.weight", new long[] {c.nEmbd(), c.kvDim()}, GgmlType.F16));
            specs.add(new TensorSpec(b + "attn_v.weight", new long[] {c.nEmbd(), c.kvDim()}, GgmlType.F16));
            specs.add(new TensorSpec(b + "attn_output.weight", new long[] {c.qDim(), c.nEmbd()}, GgmlType.F16));
            if (c.arch().qkNorm()) {
                specs.add(new TensorSpec(b + "attn_q_norm.weight", new long[] {c.headDim()}, GgmlType.F32));
                specs.add(new TensorSpec(b + "attn_k_norm.weight", new long[] {c.headDim()}, GgmlType.F32));
            }
            specs.add(new TensorSpec(b + "ffn_norm.weight", new long[] {c.nEmbd()}, GgmlType.F32));
            specs.add(new TensorSpec(b + "ffn_gate.weight", new long[] {c.nEmbd(), c.nFf()}, GgmlType.F16));
            specs.add(new TensorSpec(b + "ffn_up.weight", new long[] {c.nEmbd(), c.nFf()}, GgmlType.F16));
            specs.add(new TensorSpec(b + "ffn_down.weight", new long[] {c.nFf(), c.nEmbd()}, GgmlType.F16));
        }
        specs.add(new TensorSpec("output_norm.weight", new long[] {c.nEmbd()}, GgmlType.F32));
        if (!c.tiedOutput()) specs.add(new TensorSpec("output.weight", new long[] {c.nEmbd(), nVocab}, GgmlType.F16));

        SplittableRandom r = new SplittableRandom(seed);
        try (GgufWriter w = GgufWriter.create(out, List.of(vocab), head.build(), specs, 32)) {
            for (int i = 0; i < specs.size(); i++) {
                TensorSpec s = specs.get(i);
                long n = 1;
                for (long d : s.shape()) n *= d;
                w.writeTensor(i, s.type() == GgmlType.F32 ? ones(n) : randomF16(n, r));
            }
            w.finish();
        }
        return c;
    }

    private static ByteBuffer ones(long n) {
        ByteBuffer b = ByteBuffer.allocate((int) (4 * n)).order(ByteOrder.LITTLE_ENDIAN);
        for (long i = 0; i < n; i++) b.putFloat(1f);
        return b.flip();
    }

    /** Values as EngineBench draws them: a sum of two uniforms, std ~0.02. */
    private static ByteBuffer randomF16(long n, SplittableRandom r) {
        ByteBuffer b = ByteBuffer.allocate(Math.toIntExact(2 * n)).order(ByteOrder.LITTLE_ENDIAN);
        for (long i = 0; i < n; i++) b.putShort(Float.floatToFloat16((float) ((r.nextDouble() + r.nextDouble() - 1.0) * 0.035)));
        return b.flip();
    }
}
