package dev.fabric.data;

import dev.fabric.recipe.Recipe.Format;

/**
 * A tokenized training example: its tokens and, per position, the token the loss asks the model to predict
 * there ({@code targets[t] = tokens[t+1]} where that token is trained, else -1; the last position is -1).
 * For a conversation the trained tokens are each assistant reply and its end-of-turn token; for a text row,
 * every token after the first.
 *
 * @param where     {@code file:line} or {@code file:row N}
 * @param length    the token count before any truncation
 */
public record Example(String where, String source, Format format, int[] tokens, int[] targets, int length) {

    public int size() {
        return tokens.length;
    }

    public boolean truncated() {
        return length > tokens.length;
    }

    /** Positions whose target is under the loss. */
    public int trainedCount() {
        int n = 0;
        for (int t : targets) if (t >= 0) n++;
        return n;
    }

    /** From tokens and a per-token mask (true: the token is to be predicted), cut to {@code keep} tokens. */
    static Example of(String where, String source, Format format, int[] ids, boolean[] mask, int keep) {
        int n = Math.min(keep, ids.length);
        int[] tokens = java.util.Arrays.copyOf(ids, n), targets = new int[n];
        for (int t = 0; t < n; t++) targets[t] = t + 1 < n && mask[t + 1] ? ids[t + 1] : -1;
        return new Example(where, source, format, tokens, targets, ids.length);
    }
}
