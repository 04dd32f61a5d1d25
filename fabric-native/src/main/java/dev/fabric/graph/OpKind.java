package dev.fabric.graph;

/**
 * What a graph node computes. Forward ops carry the names of {@link dev.fabric.backend.Op} and the Backend methods;
 * each has its backward rule in {@link Autodiff}, written with the backward ops below (named
 * {@code <op>_BACKWARD} as the Backend methods and kernels {@code fabric_train_<op>_backward}).
 */
public enum OpKind {
    // leaves
    /** A value bound per call (token ids, positions, targets, segment ids). */
    INPUT,
    /** A model weight (frozen, in its stored type, or trainable F32 with a gradient). */
    PARAM,

    // forward
    GET_ROWS,
    MATMUL,
    RMS_NORM,
    MUL,
    ADD,
    SCALE,
    ROPE,
    /** Causal GQA attention over packed sequences; keeps each row's log-sum-exp for the backward. */
    ATTENTION,
    SOFTMAX,
    SWIGLU,
    DROPOUT,
    /** Output projection fused with the masked cross-entropy, in chunks of tokens; the value is the loss sum. */
    CROSS_ENTROPY,
    /** The same values seen with another shape (no copy). */
    RESHAPE,

    // backward
    MATMUL_BACKWARD_X,
    RMS_NORM_BACKWARD,
    ROPE_BACKWARD,
    ATTENTION_BACKWARD,
    SOFTMAX_BACKWARD,
    SWIGLU_BACKWARD,
    /** The input gradient the CROSS_ENTROPY node wrote during its forward. */
    CROSS_ENTROPY_BACKWARD,
    /** A part of a multi-output node's value (dq/dk/dv of attention, dgate/dup of swiglu), as a view. */
    SLICE,

    // gradient sinks: add into a trainable parameter's gradient, no value
    MATMUL_BACKWARD_W,
    GET_ROWS_BACKWARD,
    /** Row-sum of dy (times the other operand) into a broadcast weight's gradient (norm weights, biases). */
    COLUMN_SUM,
    /** A whole gradient value added into a parameter's gradient. */
    GRAD_ACC;

    public boolean isSink() {
        return this == MATMUL_BACKWARD_W || this == GET_ROWS_BACKWARD || this == COLUMN_SUM || this == GRAD_ACC;
    }

    public boolean isView() {
        return this == RESHAPE || this == SLICE || this == CROSS_ENTROPY_BACKWARD;
    }
}
