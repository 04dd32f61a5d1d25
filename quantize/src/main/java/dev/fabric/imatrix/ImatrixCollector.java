package dev.fabric.imatrix;

import dev.fabric.FabricException;
import dev.fabric.backend.Tensor;
import dev.fabric.model.Transformer;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Collects llama-imatrix's statistics from our forward pass (spec section 5.1): it observes the input of every
 * linear layer whose weight is a {@code blk.*} tensor ({@code output.weight} too when asked), skips inputs of fewer
 * than 16 rows as llama-imatrix does, and adds x_j^2 of each row into a float accumulator in row order, counting
 * rows. The text is cut into chunks of nCtx tokens, each evaluated from an empty cache with its first token
 * replaced by BOS (where the vocabulary adds one); the perplexity of each chunk's second half is reported as
 * llama-imatrix prints it.
 */
public final class ImatrixCollector implements Transformer.MatmulObserver {
    /** llama-imatrix ignores matmuls with fewer activation rows than this (small ubatches). */
    static final int MIN_ROWS = 16;

    private final boolean processOutput;
    private final Map<String, float[]> sums = new HashMap<>();
    private final Map<String, Long> counts = new HashMap<>();

    public ImatrixCollector(boolean processOutput) {
        this.processOutput = processOutput;
    }

    @Override
    public void input(String weightName, Tensor x) {
        if (!weightName.startsWith("blk.") && !(processOutput && weightName.equals("output.weight"))) return;
        int rows = (int) x.rows(), cols = (int) x.cols();
        if (rows < MIN_ROWS) return;
        float[] v = x.backend().readFloats(x);
        float[] acc = sums.computeIfAbsent(weightName, k -> new float[cols]);
        if (acc.length != cols)
            throw new IllegalStateException(weightName + ": input width " + cols + " after " + acc.length);
        for (int r = 0; r < rows; r++) {
            int o = r * cols;
            for (int j = 0; j < cols; j++) acc[j] = Math.fma(v[o + j], v[o + j], acc[j]);
        }
        counts.merge(weightName, (long) rows, Long::sum);
    }

    /** Progress per chunk: index (0-based), chunk count, running perplexity (NaN when not computed). */
    public interface Listener {
        void chunk(int index, int chunks, double runningPpl);
    }

    /**
     * Runs {@code min(maxChunks, tokens/nCtx)} chunks (maxChunks <= 0: all) through {@code model} and returns the
     * statistics.
     *
     * @param bos the id written over each chunk's first token, or -1 for none
     * @param ppl whether to compute all logits for the running perplexity (else only the last row's)
     */
    public static ImatrixStats collect(Transformer model, int[] tokens, int nCtx, int maxChunks, int bos,
            boolean processOutput, boolean ppl, List<String> datasets, Listener listener) {
        if (nCtx < MIN_ROWS || nCtx > model.nCtx())
            throw new FabricException("context " + nCtx + " must be in " + MIN_ROWS + ".." + model.nCtx());
        if (tokens.length < 2 * nCtx)
            throw new FabricException("the calibration text has " + tokens.length + " tokens; context " + nCtx
                    + " needs at least " + 2 * nCtx);
        int chunks = tokens.length / nCtx;
        if (maxChunks > 0) chunks = Math.min(chunks, maxChunks);
        ImatrixCollector c = new ImatrixCollector(processOutput);
        int vocab = model.config().vocabSize(), first = nCtx / 2;
        double nll = 0;
        long count = 0;
        model.setMatmulObserver(c);
        try {
            for (int ch = 0; ch < chunks; ch++) {
                int[] batch = Arrays.copyOfRange(tokens, ch * nCtx, (ch + 1) * nCtx);
                if (bos >= 0) batch[0] = bos;
                float[] logits = model.forward(batch, 0, !ppl);
                double running = Double.NaN;
                if (ppl) {
                    for (int j = first; j < nCtx - 1; j++) {
                        nll -= logProb(logits, j * vocab, vocab, tokens[ch * nCtx + j + 1]);
                        count++;
                    }
                    running = Math.exp(nll / count);
                }
                if (listener != null) listener.chunk(ch, chunks, running);
            }
        } finally {
            model.setMatmulObserver(null);
        }
        if (c.sums.isEmpty()) throw new FabricException("no blk.* matmul inputs were observed");
        return new ImatrixStats(c.sums, c.counts, datasets, chunks, nCtx);
    }

    private static double logProb(float[] logits, int offset, int n, int token) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) max = Math.max(max, logits[offset + i]);
        double sum = 0;
        for (int i = 0; i < n; i++) sum += Math.exp(logits[offset + i] - max);
        return logits[offset + token] - max - Math.log(sum);
    }
}
