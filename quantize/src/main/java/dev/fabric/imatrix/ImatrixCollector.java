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
    /** Rows of the llama.cpp ubatch the current inputs belong to (what its 16-row minimum applies to); 0: the call's. */
    private int ubatchRows;

    public ImatrixCollector(boolean processOutput) {
        this.processOutput = processOutput;
    }

    /** Starts from earlier statistics (llama-imatrix --in-file): new rows are added to their sums. */
    ImatrixCollector(boolean processOutput, ImatrixStats start) {
        this(processOutput);
        if (start != null) {
            start.sums().forEach((k, v) -> sums.put(k, v.clone()));
            counts.putAll(start.counts());
        }
    }

    @Override
    public void input(String weightName, Tensor x) {
        if (!weightName.startsWith("blk.") && !(processOutput && weightName.equals("output.weight"))) return;
        int rows = (int) x.rows(), cols = (int) x.cols();
        if ((ubatchRows > 0 ? ubatchRows : rows) < MIN_ROWS) return;
        float[] v = x.backend().readFloats(x);
        float[] acc = sums.computeIfAbsent(weightName, k -> new float[cols]);
        if (acc.length != cols)
            throw new IllegalStateException(weightName + ": input width " + cols + " after " + acc.length);
        for (int r = 0; r < rows; r++) {
            int o = r * cols;
            for (int j = 0; j < cols; j++) acc[j] += v[o + j] * v[o + j]; // float, not fused: as llama-imatrix
        }
        counts.merge(weightName, (long) rows, Long::sum);
    }

    /** Progress per chunk: index (0-based), chunk count, running perplexity (NaN when not computed). */
    public interface Listener {
        void chunk(int index, int chunks, double runningPpl);
    }

    /**
     * Runs {@code min(maxChunks, tokens/nCtx)} chunks (maxChunks <= 0: all) and returns the statistics. The chunks
     * go through in llama-imatrix's order, so that the float sums add the same rows in the same order: it puts
     * {@code nSeq = max(1, nBatch / nCtx)} chunks in one batch, one sequence each, and llama.cpp splits such a batch
     * into ubatches of {@code nUbatch / nSeq} consecutive tokens of every sequence (sequence by sequence). Here each
     * sequence of a batch has its own session ({@code sessions.get(s)}, at least nSeq of them), fed slice by slice.
     *
     * @param bos the id written over each chunk's first token, or -1 for none
     * @param ppl whether to compute all logits for the running perplexity (else only the last row's)
     */
    public static ImatrixStats collect(List<Transformer> sessions, int[] tokens, int nCtx, int maxChunks, int bos,
            int nBatch, int nUbatch, boolean processOutput, boolean ppl, List<String> datasets, Listener listener) {
        return collect(sessions, tokens, nCtx, maxChunks, bos, nBatch, nUbatch, processOutput, ppl, datasets, listener, null);
    }

    /**
     * As above, adding to {@code start} (statistics loaded with --in-file; null for none): the sums continue from
     * its values, its datasets come first, and the chunk count is the largest count over nCtx, as llama-imatrix
     * computes it after loading.
     */
    public static ImatrixStats collect(List<Transformer> sessions, int[] tokens, int nCtx, int maxChunks, int bos,
            int nBatch, int nUbatch, boolean processOutput, boolean ppl, List<String> datasets, Listener listener,
            ImatrixStats start) {
        Transformer model = sessions.get(0);
        if (nCtx < MIN_ROWS || nCtx > model.nCtx())
            throw new FabricException("context " + nCtx + " must be in " + MIN_ROWS + ".." + model.nCtx());
        if (tokens.length < 2 * nCtx)
            throw new FabricException("the calibration text has " + tokens.length + " tokens; context " + nCtx
                    + " needs at least " + 2 * nCtx);
        int chunks = tokens.length / nCtx;
        if (maxChunks > 0) chunks = Math.min(chunks, maxChunks);
        int nSeq = seqsPerBatch(nCtx, nBatch);
        if (sessions.size() < Math.min(nSeq, chunks))
            throw new IllegalArgumentException(sessions.size() + " sessions for " + nSeq + " sequences per batch");
        ImatrixCollector c = new ImatrixCollector(processOutput, start);
        int vocab = model.config().vocabSize(), first = nCtx / 2;
        double nll = 0;
        long count = 0;
        for (Transformer t : sessions) t.setMatmulObserver(c);
        try {
            for (int ch0 = 0; ch0 < chunks; ch0 += nSeq) {
                int g = Math.min(nSeq, chunks - ch0);
                int slice = g == 1 ? nCtx : Math.max(1, nUbatch / g);
                int[][] batch = new int[g][];
                for (int s = 0; s < g; s++) {
                    batch[s] = Arrays.copyOfRange(tokens, (ch0 + s) * nCtx, (ch0 + s + 1) * nCtx);
                    if (bos >= 0) batch[s][0] = bos;
                }
                for (int p0 = 0; p0 < nCtx; p0 += slice) {
                    int p1 = Math.min(nCtx, p0 + slice);
                    c.ubatchRows = g * (p1 - p0);
                    for (int s = 0; s < g; s++) {
                        float[] logits = sessions.get(s).forward(Arrays.copyOfRange(batch[s], p0, p1), p0,
                                !ppl && !processOutput);
                        if (!ppl) continue;
                        for (int j = Math.max(first, p0); j < Math.min(p1, nCtx - 1); j++) {
                            nll -= logProb(logits, (j - p0) * vocab, vocab, tokens[(ch0 + s) * nCtx + j + 1]);
                            count++;
                        }
                    }
                }
                for (int s = 0; s < g; s++)
                    if (listener != null) listener.chunk(ch0 + s, chunks, ppl ? Math.exp(nll / count) : Double.NaN);
            }
        } finally {
            for (Transformer t : sessions) t.setMatmulObserver(null);
        }
        if (c.sums.isEmpty()) throw new FabricException("no blk.* matmul inputs were observed");
        if (start == null) return new ImatrixStats(c.sums, c.counts, datasets, chunks, nCtx);
        List<String> all = new java.util.ArrayList<>(start.datasets());
        all.addAll(datasets);
        return new ImatrixStats(c.sums, c.counts, all, ImatrixStats.chunksOf(c.counts, nCtx), nCtx);
    }

    /** Sequences (chunks) per batch as llama-imatrix chooses them: max(1, n_batch / n_ctx). */
    public static int seqsPerBatch(int nCtx, int nBatch) {
        return Math.max(1, nBatch / nCtx);
    }

    private static double logProb(float[] logits, int offset, int n, int token) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) max = Math.max(max, logits[offset + i]);
        double sum = 0;
        for (int i = 0; i < n; i++) sum += Math.exp(logits[offset + i] - max);
        return logits[offset + token] - max - Math.log(sum);
    }
}
