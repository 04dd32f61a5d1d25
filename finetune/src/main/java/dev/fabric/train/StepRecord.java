package dev.fabric.train;

/**
 * One line of metrics.jsonl: {@code step} counts every optimizer step attempted (skipped ones included),
 * {@code update} the updates applied (the schedule position after this step); {@code loss} is the step's loss
 * per target token over all its micro-batches (written as the string "NaN"/"Infinity" when not finite);
 * {@code grad_norm} the global norm before clipping; {@code skipped} whether this step was skipped and
 * {@code skipped_total} how many have been so far.
 */
public record StepRecord(long step, long update, double loss, double lr, double gradNorm, long tokens,
        double tokensPerSecond, boolean skipped, long skippedTotal) {}
