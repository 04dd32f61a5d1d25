package dev.fabric.train;

/**
 * A model the {@link Trainer} can train: the narrow surface the training loop needs, adapted by the engine's
 * computation graph (and implemented directly by small test models).
 *
 * @param <B> the micro-batch type the data pipeline produces
 */
public interface StepModel<B> {
    /**
     * Runs forward and backward over one micro-batch and <em>adds</em> to every parameter's gradient the gradient
     * of the micro-batch's loss <em>sum</em> (sum over its target tokens, unnormalised). The trainer scales the
     * accumulated gradients by 1 / (target tokens of the whole step) once every micro-batch is in, so the step's
     * loss is a per-token mean across micro-batches, not a mean of micro-batch means.
     *
     * @param seed a seed for this micro-batch's randomness (LoRA dropout), drawn by the trainer from its
     *     checkpointed generator, so a resumed run draws the same masks
     */
    LossSum forwardBackward(B batch, long seed);

    TrainableParams params();

    default void zeroGrad() {
        params().zeroGrad();
    }
}
