package dev.fabric.data;

/**
 * A micro-batch for the engine: {@code rows × context} tokens, row-major. Per position: the input token, the
 * target ({@code -1} where the loss does not count, padding included), the position within its example
 * (restarting at 0 for every packed example) and the segment id (1, 2, ... for the examples of the row, 0 for
 * padding). Attention must not cross segments: a token attends to earlier tokens of its own segment only.
 *
 * @param examples      examples in the batch
 * @param trainedTokens positions whose target counts (the loss's divisor)
 */
public record Batch(int rows, int context, int[] tokens, int[] targets, int[] positions, int[] segments, int examples,
        int trainedTokens) {

    public int at(int row, int t) {
        return row * context + t;
    }
}
