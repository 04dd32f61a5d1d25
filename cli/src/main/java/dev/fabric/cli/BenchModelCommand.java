package dev.fabric.cli;

import dev.fabric.FabricException;
import dev.fabric.backend.Backend;
import dev.fabric.backend.Backends;
import dev.fabric.backend.DType;
import dev.fabric.backend.cpu.CpuBackend;
import dev.fabric.backend.cpu.CpuFeatures;
import dev.fabric.bench.EngineBench;
import dev.fabric.bench.SyntheticGguf;
import dev.fabric.io.SafeOutput;
import dev.fabric.model.Model;
import dev.fabric.model.ModelConfig;
import dev.fabric.model.Transformer;
import dev.fabric.quant.pipeline.QuantizeListener;
import dev.fabric.quant.pipeline.QuantizePipeline;
import dev.fabric.quant.pipeline.QuantizeRequest;
import dev.fabric.quant.preset.Preset;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code fabric bench model}: llama-bench's pp and tg tests on a model file or a synthesized shape. */
@Command(name = "model", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Prompt processing (pp: one batch of -p tokens from an empty cache) and generation (tg: -n "
                + "single-token steps from an empty cache) in tokens per second, as llama-bench measures them.",
            "--synth runs a named shape with random weights in memory (no file); --write-synth writes that shape "
                    + "to a GGUF (with a vocabulary copied in) so llama-bench and this command time the same file."},
        footer = {"", "Examples:", "  fabric bench model -m model.gguf -p 512 -n 128 -t 8",
            "  fabric bench model --synth qwen3-0.6b --type F16",
            "  fabric bench model --synth qwen3-0.6b --write-synth q06b-f16.gguf --vocab ggml-vocab-qwen3.gguf",
            "  fabric bench model --synth qwen3-0.6b --write-synth q06b-q4km.gguf --vocab ggml-vocab-qwen3.gguf --type Q4_K_M"})
final class BenchModelCommand implements Callable<Integer> {
    @Option(names = {"-m", "--model"}, paramLabel = "MODEL.gguf", description = "Model file to time.")
    Path model;

    @Option(names = "--synth", paramLabel = "SHAPE", description = "A named shape: qwen3-0.6b, qwen3-1.7b, qwen3-4b.")
    String synth;

    @Option(names = "--layers", paramLabel = "N", defaultValue = "0", description = "With --synth: override the layer count.")
    int layers;

    @Option(names = "--type", paramLabel = "TYPE", defaultValue = "F16",
            description = "With --synth: weight type (F16, BF16, F32); with --write-synth: F16 or Q4_K_M (any quantize preset).")
    String type;

    @Option(names = "--write-synth", paramLabel = "OUT.gguf", description = "Write the --synth shape to a GGUF and stop.")
    Path writeSynth;

    @Option(names = "--vocab", paramLabel = "VOCAB.gguf", description = "With --write-synth: the tokenizer to copy in.")
    Path vocab;

    @Option(names = {"-p", "--n-prompt"}, paramLabel = "N", defaultValue = "512", description = "pp tokens (default: ${DEFAULT-VALUE}).")
    int pp;

    @Option(names = {"-n", "--n-gen"}, paramLabel = "N", defaultValue = "128", description = "tg tokens (default: ${DEFAULT-VALUE}).")
    int tg;

    @Option(names = {"-t", "--threads"}, paramLabel = "N", defaultValue = "0", description = "Threads (default: all cores).")
    int threads;

    @Option(names = "--seed", defaultValue = "42", description = "Seed of the random weights and tokens.")
    long seed;

    @Option(names = {"-r", "--repetitions"}, paramLabel = "N", defaultValue = "1",
            description = "Time each test N times and print the median and the range (default: ${DEFAULT-VALUE}).")
    int reps;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        if ((model == null) == (synth == null))
            throw new FabricException("give either -m MODEL or --synth SHAPE", FabricException.EXIT_USAGE, null);
        Limits.atLeast(pp, 1, "-p");
        Limits.atLeast(tg, 0, "-n");
        Limits.atLeast(layers, 0, "--layers");
        Limits.threads(threads, "--threads");
        Limits.atLeast(reps, 1, "-r");
        PrintWriter out = spec.commandLine().getOut();
        if (writeSynth != null) return write(out);
        out.printf("CPU: %s | features: %s | kernel variant: %s | threads: %s%n", CpuFeatures.cpuName(),
                CpuFeatures.detect().describe(), CpuBackend.kernelVariant(),
                threads == 0 ? "all (" + Runtime.getRuntime().availableProcessors() + ")" : threads);
        if (synth != null) {
            DType wt;
            try {
                wt = DType.valueOf(type.toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new FabricException("--type " + type + ": in-memory --synth weights are F16, BF16 or F32",
                        FabricException.EXIT_USAGE, null);
            }
            ModelConfig c = SyntheticGguf.shape(synth, layers);
            out.printf("%s (%s): random %s weights in memory; tg runs after the pp prompt%n", synth, shapeOf(c), wt);
            out.flush();
            double[] ppRate = new double[reps], tgRate = new double[reps];
            for (int i = 0; i < reps; i++) {
                EngineBench.Result r = EngineBench.run(c, wt, DType.F16, threads, pp, tg, seed);
                ppRate[i] = r.ppTokensPerSecond();
                tgRate[i] = r.tgTokensPerSecond();
            }
            out.println(rates("pp" + pp, ppRate));
            if (tg > 0) out.println(rates("tg" + tg, tgRate));
            out.flush();
            return 0;
        }
        try (Backend b = Backends.open(threads); Model m = Model.open(model, b);
                Transformer t = m.newSession(Math.max(pp, tg) + 1, List.of())) {
            ModelConfig c = m.config();
            out.printf("%s (%s), %.2f GiB%n", model.getFileName(), shapeOf(c), Files.size(model) / 1073741824.0);
            out.flush();
            SplittableRandom r = new SplittableRandom(seed);
            int[] prompt = new int[pp];
            for (int i = 0; i < pp; i++) prompt[i] = r.nextInt(c.vocabSize());
            t.forward(new int[] {prompt[0]}, 0, true); // warm-up: threads, page faults
            // as llama-bench: each repetition runs pp from an empty cache, then tg from an empty cache
            double[] ppRate = new double[reps], tgRate = new double[reps];
            for (int rep = 0; rep < reps; rep++) {
                long t0 = System.nanoTime();
                t.forward(prompt, 0, true);
                ppRate[rep] = pp / ((System.nanoTime() - t0) / 1e9);
                if (tg > 0) {
                    int tok = prompt[0];
                    long t1 = System.nanoTime();
                    for (int i = 0; i < tg; i++) {
                        float[] logits = t.forward(new int[] {tok}, i, true);
                        tok = dev.fabric.sample.Sampler.argmax(logits, 0, c.vocabSize());
                    }
                    tgRate[rep] = tg / ((System.nanoTime() - t1) / 1e9);
                }
            }
            out.println(rates("pp" + pp, ppRate));
            if (tg > 0) out.println(rates("tg" + tg, tgRate));
            out.flush();
        }
        return 0;
    }

    private int write(PrintWriter out) throws IOException {
        if (synth == null) throw new FabricException("--write-synth needs --synth SHAPE", FabricException.EXIT_USAGE, null);
        if (vocab == null) throw new FabricException("--write-synth needs --vocab VOCAB.gguf (e.g. ggml-vocab-qwen3.gguf)",
                FabricException.EXIT_USAGE, null);
        ModelConfig c = SyntheticGguf.shape(synth, layers);
        String t = type.toUpperCase(Locale.ROOT);
        if (t.equals("F16")) {
            c = SyntheticGguf.write(c, vocab, writeSynth, seed);
        } else {
            Preset preset = Preset.parse(t);
            SafeOutput.check(writeSynth, List.of(vocab));
            Path f16 = SafeOutput.scratchPath(writeSynth);
            try {
                c = SyntheticGguf.write(c, vocab, f16, seed);
                QuantizePipeline.run(QuantizeRequest.of(f16, writeSynth, preset).withThreads(threads), QuantizeListener.NONE);
            } finally {
                SafeOutput.deleteScratch(f16);
            }
        }
        out.printf(Locale.ROOT, "wrote %s: %s, %s, %.2f GiB%n", writeSynth, shapeOf(c), t, Files.size(writeSynth) / 1073741824.0);
        out.printf("time it with: fabric bench model -m %s -t N   and   llama-bench -m %s -p %d -n %d -t N%n",
                writeSynth, writeSynth, pp, tg);
        out.flush();
        return 0;
    }

    /** "pp512:  50.12 t/s" for one run; with repetitions the median, the range and the count. */
    static String rates(String test, double[] rates) {
        double[] s = rates.clone();
        java.util.Arrays.sort(s);
        int n = s.length;
        double median = n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
        if (n == 1) return String.format(Locale.ROOT, "%s: %10.2f t/s", test, median);
        return String.format(Locale.ROOT, "%s: %10.2f t/s median of %d (range %.2f .. %.2f, %.1f%%)", test, median, n,
                s[0], s[n - 1], 100 * (s[n - 1] - s[0]) / median);
    }

    private static String shapeOf(ModelConfig c) {
        long params = (long) c.vocabSize() * c.nEmbd() * (c.tiedOutput() ? 1 : 2) + c.nEmbd()
                + (long) c.nLayer() * ((long) c.nEmbd() * (2L * c.qDim() + 2L * c.kvDim() + 3L * c.nFf())
                        + 2L * c.nEmbd() + (c.arch().qkNorm() ? 2L * c.headDim() : 0));
        return String.format(Locale.ROOT, "%s, %d layers, n_embd %d, %d/%d heads of %d, n_ff %d, vocab %d, %.1f M params",
                c.arch().ggufName(), c.nLayer(), c.nEmbd(), c.nHead(), c.nHeadKv(), c.headDim(), c.nFf(), c.vocabSize(),
                params / 1e6);
    }
}
