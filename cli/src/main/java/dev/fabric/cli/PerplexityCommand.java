package dev.fabric.cli;

import dev.fabric.FabricException;
import dev.fabric.eval.ChunkedEval;
import dev.fabric.eval.KlDivergence;
import dev.fabric.eval.LogitsFile;
import dev.fabric.io.SafeOutput;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code fabric perplexity}: llama-perplexity's method and output, and its KL-divergence comparison. */
@Command(name = "perplexity", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Perplexity of a model on a text, as llama-perplexity computes it (chunks of CTX tokens, "
                + "the second half of each scored), printing the running value per chunk and the final estimate.",
            "With --kl-divergence-base FILE the base model's log-probabilities are stored; with --kl-divergence "
                    + "too, another model (e.g. a quantization) is compared against them: mean KL divergence and "
                    + "how often both pick the same top token."},
        footer = {"", "Examples:", "  fabric perplexity -m model.gguf -f wiki.test.raw -c 512",
            "  fabric perplexity -m model-f16.gguf -f wiki.test.raw --kl-divergence-base base.logits",
            "  fabric perplexity -m model-Q4_K_M.gguf --kl-divergence-base base.logits --kl-divergence"})
final class PerplexityCommand implements Callable<Integer> {
    @Mixin
    ModelOptions modelOptions;

    @Option(names = {"-f", "--file"}, paramLabel = "TEXT", description = "The text to score (UTF-8).")
    Path file;

    @Option(names = {"-c", "--ctx"}, paramLabel = "N", defaultValue = "512", description = "Tokens per chunk (default: ${DEFAULT-VALUE}).")
    int ctx;

    @Option(names = {"-b", "--batch"}, paramLabel = "N", description = "Tokens per forward call (default: the context).")
    Integer batch;

    @Option(names = "--chunks", paramLabel = "N", defaultValue = "-1", description = "At most N chunks (default: all).")
    int chunks;

    @Option(names = "--kl-divergence-base", paramLabel = "FILE",
            description = "Logits file: written (with -f), or read (with --kl-divergence).")
    Path klBase;

    @Mixin
    InputLimit limit;

    @Option(names = "--kl-divergence", description = "Compare against the --kl-divergence-base file (its text and context).")
    boolean kl;

    @Override
    public Integer call() throws IOException {
        Limits.atLeast(ctx, 4, "--ctx");
        if (batch != null) Limits.atLeast(batch, 1, "--batch");
        Limits.chunks(chunks);
        if (kl && klBase == null)
            throw new FabricException("--kl-divergence needs --kl-divergence-base FILE", FabricException.EXIT_USAGE, null);
        if (!kl && file == null)
            throw new FabricException("give the text with -f FILE", FabricException.EXIT_USAGE, null);
        return kl ? compare() : perplexity();
    }

    private int perplexity() throws IOException {
        List<Path> inputs = new ArrayList<>(List.of(modelOptions.model, file));
        inputs.addAll(modelOptions.loras);
        if (klBase != null) SafeOutput.check(klBase, inputs); // before the run, not after it
        int b = batch == null ? ctx : batch;
        long maxBytes = limit.bytes();
        try (Engine e = new Engine(modelOptions, ctx, Math.min(b, ctx), true, System.err)) {
            String text = e.readText(file, chunks > 0 ? (long) chunks * ctx : -1, maxBytes, System.err);
            int[] tokens = e.tokenizeDocument(text);
            int n = ChunkedEval.chunkCount(tokens.length, ctx, chunks);
            System.err.printf("perplexity: %d tokens; calculating perplexity over %d chunks, n_ctx=%d, batch_size=%d%n",
                    tokens.length, n, ctx, b);
            LogitsFile.Writer w = klBase == null || tokens.length < 2 * ctx ? null
                    : new LogitsFile.Writer(klBase, inputs, ctx, e.session.config().vocabSize(), n, tokens);
            Nll nll = new Nll(System.out);
            long t0 = System.nanoTime();
            try {
                ChunkedEval.run(e.session, tokens, ctx, b, chunks, e.chunkBos(), new ChunkedEval.Scorer() {
                    @Override
                    public void row(int chunk, float[] logits, int offset, int vocab, int next) {
                        nll.add(ChunkedEval.logProb(logits, offset, vocab, next));
                        if (w != null) w.write(logits, offset);
                    }

                    @Override
                    public void chunkDone(int chunk, int n) {
                        nll.printRunning(chunk);
                    }
                });
                if (w != null) w.commit();
            } finally {
                if (w != null) w.close();
            }
            System.out.println();
            nll.printFinal();
            timing(t0, (long) n * ctx);
            if (w != null) System.err.println("wrote the base log-probabilities to " + klBase);
        }
        return 0;
    }

    private int compare() throws IOException {
        try (LogitsFile.Reader r = new LogitsFile.Reader(klBase)) {
            int c = r.nCtx, b = batch == null ? c : batch;
            if (ctx != 512 && ctx != c)
                throw new FabricException("--ctx " + ctx + " differs from the " + c + " stored in " + klBase,
                        FabricException.EXIT_USAGE, null);
            try (Engine e = new Engine(modelOptions, c, Math.min(b, c), true, System.err)) {
                if (e.session.config().vocabSize() != r.vocab)
                    throw new FabricException(klBase + " holds " + r.vocab + "-token distributions; the model's "
                            + "vocabulary has " + e.session.config().vocabSize() + " tokens");
                System.err.printf("kl-divergence: %d chunks of %d tokens from %s%n", r.chunks, c, klBase);
                KlDivergence kd = new KlDivergence();
                Nll nll = new Nll(System.out);
                long t0 = System.nanoTime();
                try {
                    ChunkedEval.run(e.session, r.tokens, c, b, r.chunks, e.chunkBos(), new ChunkedEval.Scorer() {
                        @Override
                        public void row(int chunk, float[] logits, int offset, int vocab, int next) {
                            LogitsFile.Row base;
                            try {
                                base = r.next();
                            } catch (IOException ex) {
                                throw new UncheckedIOException(ex);
                            }
                            nll.add(ChunkedEval.logProb(logits, offset, vocab, next));
                            kd.add(base, logits, offset, vocab, next);
                        }

                        @Override
                        public void chunkDone(int chunk, int n) {
                            nll.printRunning(chunk);
                        }
                    });
                } catch (UncheckedIOException ex) {
                    throw ex.getCause();
                }
                System.out.println();
                nll.printFinal();
                System.out.println();
                kd.report(System.out);
                timing(t0, (long) r.chunks * c);
            }
        }
        return 0;
    }

    private static void timing(long t0, long tokens) {
        double s = (System.nanoTime() - t0) / 1e9;
        System.err.printf(Locale.ROOT, "evaluated %d tokens in %.2f s (%.1f tokens/s)%n", tokens, s, tokens / s);
    }

    /**
     * Sums of the negative log-likelihood and its square, for the running perplexity and llama-perplexity's
     * uncertainty: ppl * sqrt((mean(nll^2) - mean(nll)^2) / (n - 1)), the standard error of the mean NLL carried
     * through the exponential.
     */
    private static final class Nll {
        final PrintStream out;
        double sum, sum2;
        long n;

        Nll(PrintStream out) {
            this.out = out;
        }

        void add(double logProb) {
            sum -= logProb;
            sum2 += logProb * logProb;
            n++;
        }

        void printRunning(int chunk) {
            out.printf(Locale.ROOT, "[%d]%.4f,", chunk + 1, Math.exp(sum / n));
            out.flush();
        }

        void printFinal() {
            double mean = sum / n, ppl = Math.exp(mean), var = sum2 / n - mean * mean;
            double err = n > 1 && var > 0 ? ppl * Math.sqrt(var / (n - 1)) : 0;
            out.printf(Locale.ROOT, "Final estimate: PPL = %.4f +/- %.5f%n", ppl, err);
        }
    }
}
