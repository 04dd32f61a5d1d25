package dev.fabric.bench;

import dev.fabric.backend.Backend;
import dev.fabric.graph.Executor;
import dev.fabric.graph.MemoryPlan;
import dev.fabric.graph.Param;
import dev.fabric.graph.TrainingSession;
import dev.fabric.model.ModelConfig;
import dev.fabric.model.ModelWeights;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Training-step speed: forward, backward and a plain SGD update on random tokens, LoRA on the seven projection
 * roles of every layer (or every weight), timed after one warm-up step. Reports tokens per second, the kernels'
 * FLOPs per token, the plan's memory estimate and the process's peak resident memory.
 */
public final class TuneBench {
    private TuneBench() {}

    /** cpuSeconds: process CPU time of the timed steps (on a shared host, tokens per CPU-second compare better). */
    public record Result(int batch, int ctx, int steps, double tokensPerSecond, double cpuSeconds, double flopsPerToken,
            MemoryPlan plan, long peakRssBytes, double firstLoss, double lastLoss) {}

    public static final String[] ROLES = {"attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"};

    public static Result run(ModelConfig c, ModelWeights w, Backend b, int threads, int rank, int batch, int ctx, int steps,
            boolean full, boolean checkpoint, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        TrainingSession.Options o = new TrainingSession.Options(checkpoint, 64, seed);
        List<TrainingSession.LoraTarget> targets = new ArrayList<>();
        if (!full) {
            var named = TrainingSession.named(c, w);
            for (int l = 0; l < c.nLayer(); l++)
                for (String role : ROLES) {
                    String name = "blk." + l + "." + role + ".weight";
                    long in = named.get(name).dim(1);
                    float[] a = new float[(int) (rank * in)];
                    float bound = (float) (1 / Math.sqrt(in));
                    for (int i = 0; i < a.length; i++) a[i] = (float) ((r.nextDouble() * 2 - 1) * bound);
                    targets.add(new TrainingSession.LoraTarget(name, rank, 2f, 0f, a, null));
                }
        }
        try (TrainingSession s = full ? TrainingSession.full(c, w, b, o) : TrainingSession.lora(c, w, b, targets, o)) {
            int n = batch * ctx;
            int[][] rows = new int[batch][ctx];
            for (int[] row : rows) for (int i = 0; i < ctx; i++) row[i] = r.nextInt(c.vocabSize());
            TrainingSession.Batch bt = TrainingSession.Batch.of(rows);
            MemoryPlan plan = s.plan(batch, ctx, threads);
            double first = Double.NaN, last = Double.NaN;
            long t0 = 0;
            double c0 = 0;
            for (int step = 0; step <= steps; step++) {
                if (step == 1) {  // step 0 warms up: page faults, thread pools
                    t0 = System.nanoTime();
                    c0 = cpuSeconds();
                }
                s.zeroGrad();
                Executor.Result res = s.forwardBackward(bt, 1f / (n - batch));
                last = res.lossSum() / res.targets();
                if (step == 0) first = last;
                for (Param p : s.trainable()) sgd(p, 1e-3f);
            }
            double seconds = (System.nanoTime() - t0) / 1e9, cpu = cpuSeconds() - c0;
            double flops = s.graph(batch, ctx).flops() / (double) n;
            return new Result(batch, ctx, steps, steps * (double) n / seconds, cpu, flops, plan, peakRss(), first, last);
        }
    }

    private static void sgd(Param p, float lr) {
        FloatBuffer v = p.values(), g = p.grads();
        for (int i = 0; i < v.capacity(); i++) v.put(i, v.get(i) - lr * g.get(i));
    }

    /** CPU time of this process (all threads), in seconds. */
    public static double cpuSeconds() {
        return ProcessHandle.current().info().totalCpuDuration().map(d -> d.toNanos() / 1e9).orElse(Double.NaN);
    }

    /** VmHWM of /proc/self/status in bytes (0 where unavailable). */
    public static long peakRss() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status")))
                if (line.startsWith("VmHWM:")) return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
        } catch (IOException | RuntimeException e) {
            return 0;
        }
        return 0;
    }
}
