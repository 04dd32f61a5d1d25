package dev.fabric.train;

/**
 * What one forward-backward pass over a micro-batch returns: the sum of the per-token cross-entropy losses over
 * its target tokens (not their mean) and how many target tokens there were. The trainer divides by the token count
 * of the whole optimizer step (see training.md, "Loss").
 */
public record LossSum(double sum, long tokens) {
    public LossSum {
        if (tokens < 0) throw new IllegalArgumentException("negative token count " + tokens);
    }

    public LossSum plus(LossSum o) {
        return new LossSum(sum + o.sum, tokens + o.tokens);
    }
}
