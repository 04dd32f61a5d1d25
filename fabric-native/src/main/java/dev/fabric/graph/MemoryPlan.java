package dev.fabric.graph;

/**
 * What a training step holds at its peak, by category, in bytes: the plan's estimate shown before step 1.
 *
 * @param weights          parameter values (frozen weights are memory-mapped views of the file)
 * @param trainableCopies  of those, F32 copies the session owns for training (full training, LoRA A/B)
 * @param savedActivations forward values alive at the peak of the activation buffers (kept for the backward,
 *                         or only layer inputs when checkpointing)
 * @param backwardValues   gradient values of activations alive at that peak
 * @param paramGradients   the trainable parameters' gradients
 * @param optimizerState   AdamW's two moments: 2 floats per trainable parameter
 * @param scratch          kernel scratch: one logits chunk, attention row terms, per-thread weight rows
 * @param arena            bytes of the reused activation buffers (at least savedActivations + backwardValues:
 *                         buffers are reused by exact size)
 */
public record MemoryPlan(long weights, long trainableCopies, long savedActivations, long backwardValues,
        long paramGradients, long optimizerState, long scratch, long arena) {

    /** Gradient bytes at the peak: parameter gradients and the activation gradients alive then. */
    public long gradients() {
        return paramGradients + backwardValues;
    }

    /** Bytes at the peak, counting mapped weights as resident. */
    public long peak() {
        return weights + paramGradients + optimizerState + scratch + arena;
    }

    @Override
    public String toString() {
        return String.format("weights %s (trainable copies %s), saved activations %s, gradients %s, "
                + "optimizer state %s, scratch %s (activation arena %s); peak %s", mib(weights), mib(trainableCopies),
                mib(savedActivations), mib(gradients()), mib(optimizerState), mib(scratch), mib(arena), mib(peak()));
    }

    static String mib(long b) {
        return String.format("%.1f MiB", b / 1048576.0);
    }
}
