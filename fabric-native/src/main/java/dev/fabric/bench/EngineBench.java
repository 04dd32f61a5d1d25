package dev.fabric.bench;

import dev.fabric.backend.Backend;
import dev.fabric.backend.Backends;
import dev.fabric.backend.DType;
import dev.fabric.backend.Tensor;
import dev.fabric.backend.cpu.CpuFeatures;
import dev.fabric.model.Arch;
import dev.fabric.model.ModelConfig;
import dev.fabric.model.ModelWeights;
import dev.fabric.model.Transformer;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Forward-pass throughput on a model of a given shape with random weights, as llama-bench measures it:
 * pp = prompt processing (one batch of n tokens, logits of the last only), tg = generation (n single-token
 * steps after that prompt). Weights are generated in memory, so no model file is needed; for
 * {@code fabric bench}.
 */
public final class EngineBench {
    private EngineBench() {}

    /** Tokens per second for prompt processing and generation, and what ran. */
    public record Result(String shape, DType weights, DType kvCache, String backend, String cpu, int pp,
            double ppTokensPerSecond, double ppCpuSeconds, int tg, double tgTokensPerSecond, double tgCpuSeconds) {
        @Override
        public String toString() {
            return String.format("%s %s weights, %s KV, %s [%s]: pp%d %.2f t/s (%.2f s wall, %.2f s CPU), "
                    + "tg%d %.2f t/s (%.2f s wall, %.2f s CPU)", shape, weights, kvCache, backend, cpu, pp,
                    ppTokensPerSecond, pp / ppTokensPerSecond, ppCpuSeconds, tg, tgTokensPerSecond,
                    tg == 0 ? 0 : tg / tgTokensPerSecond, tgCpuSeconds);
        }
    }

    /** CPU time of this process so far (all threads, native ones included): shows contention on a busy host. */
    private static double cpuSeconds() {
        return ProcessHandle.current().info().totalCpuDuration().map(d -> d.toNanos() / 1e9).orElse(Double.NaN);
    }

    /** Qwen3-0.6B's shape (n_embd 1024, 28 layers, 16 heads / 8 KV heads of 128, n_ff 3072, tied 151936 vocab). */
    public static ModelConfig qwen3_0_6B(int layers) {
        return new ModelConfig(Arch.QWEN3, 1024, layers, 16, 8, 128, 3072, 1e-6f, 1_000_000f, 128, 151_936, true, 40_960);
    }

    public static Result run(ModelConfig c, DType weightType, DType kvType, int threads, int pp, int tg, long seed) {
        Backend b = Backends.open(threads);
        List<Tensor> owned = new ArrayList<>();
        try {
            SplittableRandom r = new SplittableRandom(seed);
            ModelWeights w = randomWeights(c, weightType, b, owned, r);
            int[] prompt = new int[pp];
            for (int i = 0; i < pp; i++) prompt[i] = r.nextInt(c.vocabSize());
            try (Transformer t = new Transformer(c, w, b, pp + tg + 1, kvType, List.of())) {
                t.forward(new int[] {1}, 0, true); // warm-up: thread pool, page faults of the scratch
                double c0 = cpuSeconds();
                long t0 = System.nanoTime();
                t.forward(prompt, 0, true);
                long t1 = System.nanoTime();
                double c1 = cpuSeconds();
                int tok = 1;
                for (int i = 0; i < tg; i++) {
                    float[] logits = t.forward(new int[] {tok}, pp + i, true);
                    tok = argmax(logits);
                }
                long t2 = System.nanoTime();
                double c2 = cpuSeconds();
                return new Result(c.arch().ggufName() + " " + c.nLayer() + "x" + c.nEmbd(), weightType, kvType,
                        b.name(), CpuFeatures.detect().describe(), pp, pp / ((t1 - t0) / 1e9), c1 - c0, tg,
                        tg == 0 ? 0 : tg / ((t2 - t1) / 1e9), c2 - c1);
            }
        } finally {
            owned.forEach(Tensor::close);
        }
    }

    /**
     * Random weights of a shape in memory (std ~0.02 matrices of {@code type}, F32 norms of 1), the tensors added to
     * {@code owned} for the caller to close. Used by the model and training benchmarks.
     */
    public static ModelWeights randomWeights(ModelConfig c, DType weightType, Backend b, List<Tensor> owned,
            SplittableRandom r) {
        List<ModelWeights.Layer> layers = new ArrayList<>();
        for (int i = 0; i < c.nLayer(); i++) {
            layers.add(new ModelWeights.Layer(norm(b, owned, c.nEmbd()),
                    random(b, owned, r, weightType, c.qDim(), c.nEmbd()),
                    random(b, owned, r, weightType, c.kvDim(), c.nEmbd()),
                    random(b, owned, r, weightType, c.kvDim(), c.nEmbd()),
                    random(b, owned, r, weightType, c.nEmbd(), c.qDim()), null, null, null,
                    c.arch().qkNorm() ? norm(b, owned, c.headDim()) : null,
                    c.arch().qkNorm() ? norm(b, owned, c.headDim()) : null, norm(b, owned, c.nEmbd()),
                    random(b, owned, r, weightType, c.nFf(), c.nEmbd()),
                    random(b, owned, r, weightType, c.nFf(), c.nEmbd()),
                    random(b, owned, r, weightType, c.nEmbd(), c.nFf())));
        }
        Tensor embd = random(b, owned, r, weightType, c.vocabSize(), c.nEmbd());
        return new ModelWeights(embd, norm(b, owned, c.nEmbd()),
                c.tiedOutput() ? embd : random(b, owned, r, weightType, c.vocabSize(), c.nEmbd()), layers);
    }

    private static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
        return best;
    }

    private static Tensor norm(Backend b, List<Tensor> owned, int n) {
        Tensor t = b.allocate(DType.F32, n);
        owned.add(t);
        float[] ones = new float[n];
        java.util.Arrays.fill(ones, 1f);
        b.write(t, ones);
        return t;
    }

    /** Gaussian-ish weights with std 0.02 (sum of uniforms), written in chunks through an F32 staging tensor. */
    private static Tensor random(Backend b, List<Tensor> owned, SplittableRandom r, DType type, long rows, long cols) {
        Tensor t = b.allocate(type, rows, cols);
        owned.add(t);
        long chunkRows = Math.max(1, (1 << 20) / cols);
        try (Tensor stage = b.allocate(DType.F32, chunkRows, cols)) {
            float[] buf = new float[(int) (chunkRows * cols)];
            for (long r0 = 0; r0 < rows; r0 += chunkRows) {
                long n = Math.min(chunkRows, rows - r0);
                for (int i = 0; i < n * cols; i++) buf[i] = (float) ((r.nextDouble() + r.nextDouble() - 1.0) * 0.035);
                Tensor s = stage.slice(0, n);
                b.write(s, n == chunkRows ? buf : java.util.Arrays.copyOf(buf, (int) (n * cols)));
                b.copy(s, t.slice(r0, r0 + n));
            }
        }
        return t;
    }

    /**
     * Like llama-bench on a GGUF file: pp = one batch of {@code pp} tokens from an empty context, tg = {@code tg}
     * single-token steps from an empty context (llama-bench clears the KV cache between its tests), after one
     * warm-up token. F16 KV cache, as llama-bench's default.
     */
    public static Result runFile(java.nio.file.Path gguf, int threads, int pp, int tg) throws java.io.IOException {
        Backend b = Backends.open(threads);
        try (dev.fabric.model.Model model = dev.fabric.model.Model.open(gguf, b);
                Transformer t = model.newSession(Math.max(pp, tg) + 1, List.of())) {
            ModelConfig c = model.config();
            SplittableRandom r = new SplittableRandom(42);
            int[] prompt = new int[pp];
            for (int i = 0; i < pp; i++) prompt[i] = r.nextInt(c.vocabSize());
            t.forward(new int[] {1}, 0, true);
            double c0 = cpuSeconds();
            long t0 = System.nanoTime();
            if (pp > 0) t.forward(prompt, 0, true);
            long t1 = System.nanoTime();
            double c1 = cpuSeconds();
            int tok = 1;
            for (int i = 0; i < tg; i++) tok = argmax(t.forward(new int[] {tok}, i, true));
            long t2 = System.nanoTime();
            double c2 = cpuSeconds();
            return new Result(gguf.getFileName() + " " + c.arch().ggufName() + " " + c.nLayer() + "x" + c.nEmbd(),
                    model.weights().layers().get(0).wq().type(), DType.F16, b.name(), CpuFeatures.detect().describe(), pp,
                    pp == 0 ? 0 : pp / ((t1 - t0) / 1e9), c1 - c0, tg, tg == 0 ? 0 : tg / ((t2 - t1) / 1e9), c2 - c1);
        }
    }

    /**
     * {@code EngineBench [threads=2] [pp=512] [tg=16] [layers=28] [f16|bf16|f32] [kv f16|f32]}, or
     * {@code EngineBench --model FILE.gguf [threads=2] [pp=512] [tg=128]}.
     */
    public static void main(String[] args) throws java.io.IOException {
        if (args.length > 1 && args[0].equals("--model")) {
            int threads = args.length > 2 ? Integer.parseInt(args[2]) : 2;
            int pp = args.length > 3 ? Integer.parseInt(args[3]) : 512;
            int tg = args.length > 4 ? Integer.parseInt(args[4]) : 128;
            System.out.println(runFile(java.nio.file.Path.of(args[1]), threads, pp, tg));
            return;
        }
        int threads = args.length > 0 ? Integer.parseInt(args[0]) : 2;
        int pp = args.length > 1 ? Integer.parseInt(args[1]) : 512;
        int tg = args.length > 2 ? Integer.parseInt(args[2]) : 16;
        int layers = args.length > 3 ? Integer.parseInt(args[3]) : 28;
        DType wt = args.length > 4 ? DType.valueOf(args[4].toUpperCase()) : DType.F16;
        DType kv = args.length > 5 ? DType.valueOf(args[5].toUpperCase()) : DType.F16;
        System.out.println(run(qwen3_0_6B(layers), wt, kv, threads, pp, tg, 42));
    }
}
