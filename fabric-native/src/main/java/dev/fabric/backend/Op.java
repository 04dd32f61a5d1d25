package dev.fabric.backend;

/**
 * The engine's op vocabulary. Each name is the same in four places: this enum (the future graph node and its
 * backward rule), the {@link Backend} method, the native kernel {@code fabric_op_<name>} and the tests
 * ({@code OpsTest}, oracle {@code NaiveOps.<name>}). Every op reads whole tensors and writes one output, so a
 * backward rule needs only the op's inputs (and, for some, its output) — see the notes.
 */
public enum Op {
    /** out = table[ids]; backward: scatter-add of d(out) into d(table) rows (embedding gradients). */
    GET_ROWS,
    /** y = x . w^T; backward: dx = dy . w (w in its stored type, dequantized in the kernel), dw = dy^T . x. */
    MATMUL,
    /** y = x / rms(x); backward needs x (or y and rms). */
    RMS_NORM,
    /** Rotary embedding; backward = rope with the negated angle (rotation transpose). */
    ROPE,
    /** Causal GQA softmax(q k^T s) v over the cache; backward recomputes scores from q, k, v (flash style). */
    ATTENTION,
    /** Row softmax; backward needs y. */
    SOFTMAX,
    /** y = silu(gate) * up; backward needs gate and up. */
    SWIGLU,
    /** y = a + b (b broadcast over rows); backward: da = dy, db = row-sum of dy. */
    ADD,
    /** y = a * b (b broadcast over rows); backward needs a and b. */
    MUL,
    /** y = a * s; backward: da = dy * s. */
    SCALE,
    /** dst = src converted to dst's type (F32 to F32, F16, BF16): KV cache writes. No backward. */
    COPY,
    /** Training attention over packed sequences (segment masks), keeping each row's log-sum-exp; backward by recomputation. */
    ATTENTION_TRAIN,
    /** Inverted dropout with a seeded mask; its own backward (the same call on dy). */
    DROPOUT,
    /** Masked cross-entropy of logits against targets, in place (the logits become their gradient). */
    CROSS_ENTROPY;

    /** The name used by kernels and tests ({@code get_rows}, {@code rms_norm} ...). */
    public String kernelName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
