package dev.fabric.train;

/**
 * The micro-batches in training order. Its position is opaque to the trainer: {@link #state} is saved in each
 * checkpoint and handed back to {@link #restore} on resume, so the resumed run sees the same batches.
 */
public interface BatchSource<B> {
    /** The next micro-batch (sources cycle over their epochs themselves). */
    B next();

    /** The position (data order, epoch, offset), as bytes only the source understands. */
    byte[] state();

    void restore(byte[] state);
}
