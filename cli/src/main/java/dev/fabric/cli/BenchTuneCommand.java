package dev.fabric.cli;

import dev.fabric.FabricException;
import dev.fabric.backend.Backend;
import dev.fabric.backend.Backends;
import dev.fabric.backend.DType;
import dev.fabric.backend.Tensor;
import dev.fabric.backend.cpu.CpuBackend;
import dev.fabric.backend.cpu.CpuFeatures;
import dev.fabric.bench.EngineBench;
import dev.fabric.bench.SyntheticGguf;
import dev.fabric.bench.TuneBench;
import dev.fabric.model.Model;
import dev.fabric.model.ModelConfig;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code fabric bench tune}: training steps (forward, backward, SGD update) per second on a model or a shape. */
@Command(name = "tune", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Training speed: steps of forward + backward + a plain SGD update on random tokens, LoRA of "
                + "--rank on the seven projections of every layer (attn_q/k/v/output, ffn_gate/up/down) or --full "
                + "training, after one warm-up step. Prints tokens/s, the kernels' FLOPs per token, the fraction of "
                + "the machine's estimated peak, the memory plan and the peak RSS; --compare-pp also times prompt "
                + "processing (as bench model's pp) on the same weights in the same run."},
        footer = {"", "Examples:", "  fabric bench tune -m q06b-f16.gguf --rank 16 --ctx 256 -t 2 --compare-pp 512",
            "  fabric bench tune --synth qwen3-0.6b --layers 4 --ctx 128 --steps 2"})
final class BenchTuneCommand implements Callable<Integer> {
    @Option(names = {"-m", "--model"}, paramLabel = "MODEL.gguf", description = "Model file to train.")
    Path model;

    @Option(names = "--synth", paramLabel = "SHAPE", description = "A named shape with random F16 weights: qwen3-0.6b, qwen3-1.7b, qwen3-4b.")
    String synth;

    @Option(names = "--layers", paramLabel = "N", defaultValue = "0", description = "With --synth: override the layer count.")
    int layers;

    @Option(names = "--rank", defaultValue = "16", description = "LoRA rank (default: ${DEFAULT-VALUE}).")
    int rank;

    @Option(names = "--full", description = "Train every weight (F32 copies) instead of LoRA.")
    boolean full;

    @Option(names = "--checkpoint", description = "Recompute each layer in the backward (gradient checkpointing).")
    boolean checkpoint;

    @Option(names = "--ctx", defaultValue = "256", description = "Tokens per sequence (default: ${DEFAULT-VALUE}).")
    int ctx;

    @Option(names = "--batch", defaultValue = "1", description = "Sequences per step (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--steps", defaultValue = "3", description = "Timed steps (default: ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = {"-t", "--threads"}, paramLabel = "N", defaultValue = "0", description = "Threads (default: all cores).")
    int threads;

    @Option(names = "--compare-pp", paramLabel = "N", defaultValue = "0",
            description = "Also time prompt processing of N tokens on the same weights (0: skip).")
    int comparePp;

    @Option(names = "--seed", defaultValue = "42", description = "Seed of the random weights and tokens.")
    long seed;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        if ((model == null) == (synth == null))
            throw new FabricException("give either -m MODEL or --synth SHAPE", FabricException.EXIT_USAGE, null);
        if (rank < 1 || ctx < 2 || batch < 1 || steps < 1 || threads < 0 || comparePp < 0)
            throw new FabricException("--rank, --batch and --steps must be >= 1, --ctx >= 2, --threads >= 0",
                    FabricException.EXIT_USAGE, null);
        PrintWriter out = spec.commandLine().getOut();
        int nThreads = threads == 0 ? Runtime.getRuntime().availableProcessors() : threads;
        out.printf("CPU features: %s | kernel variant: %s | threads: %d%n", CpuFeatures.detect().describe(),
                CpuBackend.kernelVariant(), nThreads);
        try (Backend b = Backends.open(threads)) {
            TuneBench.Result r;
            double pp = 0, ppCpu = 0;
            if (model != null) {
                try (Model m = Model.open(model, b)) {
                    out.printf("%s (%s), %.2f GiB%n", model.getFileName(), m.config().arch().ggufName(),
                            Files.size(model) / 1073741824.0);
                    out.flush();
                    r = TuneBench.run(m.config(), m.weights(), b, nThreads, rank, batch, ctx, steps, full, checkpoint, seed);
                }
                if (comparePp > 0) {
                    EngineBench.Result e = EngineBench.runFile(model, threads, comparePp, 0);
                    pp = e.ppTokensPerSecond();
                    ppCpu = e.ppCpuSeconds();
                }
            } else {
                ModelConfig c = SyntheticGguf.shape(synth, layers);
                List<Tensor> owned = new ArrayList<>();
                try {
                    var w = EngineBench.randomWeights(c, DType.F16, b, owned, new SplittableRandom(seed));
                    r = TuneBench.run(c, w, b, nThreads, rank, batch, ctx, steps, full, checkpoint, seed);
                } finally {
                    owned.forEach(Tensor::close);
                }
                if (comparePp > 0) {
                    EngineBench.Result e = EngineBench.run(c, DType.F16, DType.F16, threads, comparePp, 0, seed);
                    pp = e.ppTokensPerSecond();
                    ppCpu = e.ppCpuSeconds();
                }
            }
            out.printf(Locale.ROOT, "%s, batch %d x ctx %d, %d timed steps%s%n", full ? "full training" : "LoRA rank " + rank,
                    r.batch(), r.ctx(), r.steps(), checkpoint ? ", checkpointing" : "");
            double trainPerCpu = r.steps() * (double) r.batch() * r.ctx() / r.cpuSeconds();
            out.printf(Locale.ROOT, "train: %10.2f tokens/s, %.2f tokens per CPU-second   (loss %.3f -> %.3f)%n",
                    r.tokensPerSecond(), trainPerCpu, r.firstLoss(), r.lastLoss());
            double gflops = r.flopsPerToken() * r.tokensPerSecond() / 1e9;
            out.printf(Locale.ROOT, "FLOPs per token: %.2f G; achieved %.1f GFLOP/s", r.flopsPerToken() / 1e9, gflops);
            double peak = peakGflops(nThreads);
            if (peak > 0) out.printf(Locale.ROOT, " = %.1f%% of an estimated %.0f GFLOP/s peak (%d threads x 32 F32 FLOP/cycle x %.2f GHz)",
                    100 * gflops / peak, peak, nThreads, peak / nThreads / 32);
            out.println();
            out.printf("memory plan: %s%n", r.plan());
            out.printf(Locale.ROOT, "peak RSS (VmHWM): %.1f MiB%n", r.peakRssBytes() / 1048576.0);
            if (pp > 0) {
                double ppPerCpu = comparePp / ppCpu;
                out.printf(Locale.ROOT, "pp%d: %10.2f t/s, %.2f tokens per CPU-second; training / pp = %.3f (wall), %.3f (CPU time)%n",
                        comparePp, pp, ppPerCpu, r.tokensPerSecond() / pp, trainPerCpu / ppPerCpu);
            }
            out.flush();
        }
        return 0;
    }

    /** Peak F32 FLOP/s estimate: threads x 32 (two 256-bit FMA pipes, Zen 4 and most AVX2/AVX-512 cores) x clock. */
    private static double peakGflops(int threads) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo")))
                if (line.startsWith("cpu MHz")) return threads * 32 * Double.parseDouble(line.split(":")[1].trim()) / 1000;
        } catch (IOException | RuntimeException e) {
            return 0;
        }
        return 0;
    }
}
