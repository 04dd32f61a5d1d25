package dev.fabric.quant.pipeline;

import dev.fabric.quant.preset.TypeChoice;

/** Progress of a quantize run; every method has a no-op default. Called on the thread that runs the pipeline. */
public interface QuantizeListener {
    QuantizeListener NONE = new QuantizeListener() {};

    /** The plan is made (types chosen, imatrix checked); nothing has been written yet. */
    default void planned(QuantizePlan plan) {}

    /** Tensor {@code index} (in output order) has been converted and written. */
    default void tensorDone(int index, TypeChoice choice, long inputBytes, long outputBytes) {}

    /** The output file is complete and in place. */
    default void finished(QuantizeResult result) {}
}
