package dev.fabric.eval;

import dev.fabric.FabricException;
import dev.fabric.model.Transformer;

/**
 * Perplexity as llama-perplexity computes it: the token stream (tokenized with BOS where the vocabulary adds
 * one) is cut into chunks of nCtx tokens (a tail shorter than nCtx is dropped); each chunk is evaluated from an
 * empty cache with its first token replaced by BOS (when bos >= 0); only the second half is scored: the logits at
 * positions first = nCtx/2 .. nCtx-2 predict the tokens at first+1 .. nCtx-1. After each chunk the running
 * perplexity is exp(mean negative log-likelihood of all tokens scored so far).
 */
public final class Perplexity {
    private Perplexity() {}

    /** Running perplexity after each chunk, the final estimate and the totals behind it. */
    public record Result(double[] runningPpl, double nll, long count) {
        public double ppl() {
            return Math.exp(nll / count);
        }
    }

    /** Progress per chunk: index (0-based), chunk count, running perplexity. */
    public interface Listener {
        void chunk(int index, int chunks, double runningPpl);
    }

    public static Result compute(Transformer model, int[] tokens, int nCtx, int bos, Listener listener) {
        if (nCtx < 4 || nCtx > model.nCtx())
            throw new FabricException("context " + nCtx + " must be in 4.." + model.nCtx());
        if (tokens.length < 2 * nCtx)
            throw new FabricException("the text has " + tokens.length + " tokens; perplexity with context " + nCtx
                    + " needs at least " + 2 * nCtx);
        int chunks = tokens.length / nCtx, first = nCtx / 2, vocab = model.config().vocabSize();
        double nll = 0;
        long count = 0;
        double[] running = new double[chunks];
        for (int ch = 0; ch < chunks; ch++) {
            int[] batch = java.util.Arrays.copyOfRange(tokens, ch * nCtx, (ch + 1) * nCtx);
            if (bos >= 0) batch[0] = bos;
            float[] logits = model.forward(batch, 0, false);
            for (int j = first; j < nCtx - 1; j++) {
                nll -= logProb(logits, j * vocab, vocab, tokens[ch * nCtx + j + 1]);
                count++;
            }
            running[ch] = Math.exp(nll / count);
            if (listener != null) listener.chunk(ch, chunks, running[ch]);
        }
        return new Result(running, nll, count);
    }

    /** log softmax(row)[token], with the row's max subtracted first and the sum in double. */
    static double logProb(float[] logits, int offset, int n, int token) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) max = Math.max(max, logits[offset + i]);
        double sum = 0;
        for (int i = 0; i < n; i++) sum += Math.exp(logits[offset + i] - max);
        return logits[offset + token] - max - Math.log(sum);
    }
}
