package dev.fabric.eval;

import dev.fabric.FabricException;
import dev.fabric.model.Transformer;
import java.util.Arrays;

/**
 * llama-perplexity's evaluation loop (the method of {@link Perplexity}) with every scored row handed to a
 * {@link Scorer}: chunks of nCtx tokens from an empty cache, first token replaced by BOS, each chunk fed in
 * batches of at most {@code batch} tokens (llama-perplexity's {@code -b}; the cache carries the chunk across
 * batches), the logits at positions nCtx/2 .. nCtx-2 scored against the next token.
 */
public final class ChunkedEval {
    private ChunkedEval() {}

    /** Receives each scored row: its logits at {@code logits[offset .. offset+vocab)} and the true next token. */
    public interface Scorer {
        void row(int chunk, float[] logits, int offset, int vocab, int next);

        /** After the last row of a chunk. */
        default void chunkDone(int chunk, int chunks) {}
    }

    /** Chunks that {@code tokens} gives at context nCtx, capped at maxChunks when that is positive. */
    public static int chunkCount(int tokens, int nCtx, int maxChunks) {
        int n = tokens / nCtx;
        return maxChunks > 0 ? Math.min(n, maxChunks) : n;
    }

    public static void run(Transformer model, int[] tokens, int nCtx, int batch, int maxChunks, int bos, Scorer s) {
        if (nCtx < 4 || nCtx > model.nCtx())
            throw new FabricException("context " + nCtx + " must be in 4.." + model.nCtx());
        if (batch <= 0) throw new FabricException("batch size " + batch + " must be positive");
        if (tokens.length < 2 * nCtx)
            throw new FabricException("the text has " + tokens.length + " tokens; perplexity with context " + nCtx
                    + " needs at least " + 2 * nCtx);
        int chunks = chunkCount(tokens.length, nCtx, maxChunks), first = nCtx / 2, vocab = model.config().vocabSize();
        for (int ch = 0; ch < chunks; ch++) {
            int[] chunk = Arrays.copyOfRange(tokens, ch * nCtx, (ch + 1) * nCtx);
            if (bos >= 0) chunk[0] = bos;
            for (int b0 = 0; b0 < nCtx; b0 += batch) {
                int b1 = Math.min(nCtx, b0 + batch);
                if (b1 <= first) {
                    model.forward(Arrays.copyOfRange(chunk, b0, b1), b0, true); // fills the cache only
                    continue;
                }
                float[] logits = model.forward(Arrays.copyOfRange(chunk, b0, b1), b0, false);
                for (int j = Math.max(first, b0); j < Math.min(b1, nCtx - 1); j++)
                    s.row(ch, logits, (j - b0) * vocab, vocab, tokens[ch * nCtx + j + 1]);
            }
            s.chunkDone(ch, chunks);
        }
    }

    /** log softmax(row)[token] as {@link Perplexity} computes it. */
    public static double logProb(float[] logits, int offset, int n, int token) {
        return Perplexity.logProb(logits, offset, n, token);
    }
}
