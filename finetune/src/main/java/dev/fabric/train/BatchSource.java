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

    /** The position of a source that goes through its data epoch by epoch: the epoch and the index within it. */
    record Position(int epoch, int next) {
        public byte[] bytes() {
            return java.nio.ByteBuffer.allocate(8).putInt(epoch).putInt(next).array();
        }

        public static Position of(byte[] state) {
            if (state == null || state.length != 8)
                throw new IllegalArgumentException("a data position is 8 bytes, this one " + (state == null ? "absent"
                        : state.length + " bytes"));
            java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(state);
            return new Position(b.getInt(), b.getInt());
        }
    }
}
