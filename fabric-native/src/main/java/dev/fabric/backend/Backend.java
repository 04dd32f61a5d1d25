package dev.fabric.backend;

/**
 * Where tensors live and ops run. Model code is written against this interface only; each backend (CPU now,
 * Vulkan and Metal later) owns its buffers and kernels and is tested against the CPU backend on the same ops.
 *
 * <p>Ops work on whole tensors and write into a caller-provided output (so callers plan memory and reuse
 * buffers). Each op is a node of the future autodiff graph: its name here is its name in the graph, the
 * kernel ({@code fabric_op_<name>}) and the tests. Shapes are row-major, last dimension contiguous (see
 * {@link Tensor}); "rows" broadcast where an op says so. Outputs may alias inputs only where an op says so.
 */
public interface Backend extends AutoCloseable {
    String name();

    /** A new zero-filled tensor owned by the caller (close it). */
    Tensor allocate(DType type, long... shape);

    /** A tensor viewing host memory owned by {@code owner} (e.g. a memory-mapped GGUF tensor), without copying. */
    Tensor wrap(DType type, long address, Object owner, long... shape);

    /** Frees memory returned by {@link #allocate}; called by {@link Tensor#close()}. */
    void free(long address);

    /**
     * A view of {@code base}'s memory starting {@code byteOffset} bytes in, with {@code shape} (in base's type); the
     * view keeps base reachable and frees nothing. Address arithmetic on a backend's buffers happens here only
     * ({@link Tensor#slice} and {@link Tensor#reshape} come here).
     */
    Tensor view(Tensor base, long byteOffset, long... shape);

    /**
     * The tensor's bytes as host memory, read-write, native byte order, without a copy (the CPU backend's tensors are
     * host memory). A backend whose buffers the host cannot address throws {@link UnsupportedOperationException};
     * callers then use {@link #readFloats} and {@link #write}.
     */
    java.nio.ByteBuffer hostBytes(Tensor t);

    /**
     * Whether this backend runs {@code op} with {@code type} as its typed operand: the weight of
     * {@link Op#MATMUL} (and its input gradient), the table of {@link Op#GET_ROWS}, the KV cache of
     * {@link Op#ATTENTION}, the destination of {@link Op#COPY}; F32 for the ops whose operands are all F32. Where
     * the op has a backward kernel, true means the backward runs for that type too (get_rows' gradient: F32 tables;
     * matmul's weight gradient: F32 weights). Callers ask before building a graph; the op test harness runs every
     * (op, type) pair a backend claims.
     */
    boolean supports(Op op, DType type);

    void write(Tensor dst, float[] src);

    void write(Tensor dst, int[] src);

    /** Raw bytes of any type (e.g. quantized blocks in ggml's layout); src.length must be dst's byte size. */
    void write(Tensor dst, byte[] src);

    float[] readFloats(Tensor src);

    // ---- ops -------------------------------------------------------------------------------------------

    /** out[i, :] = table[ids[i], :] as F32. table [n_rows, row] of F32/F16/BF16; ids I32 [n]; out F32 [n, row]. */
    void get_rows(Tensor table, Tensor ids, Tensor out);

    /**
     * y[m, n] = x[m, k] . w[n, k]^T, a linear layer with its weight as GGUF stores it (n rows of k), in the
     * weight's stored type. x and y F32 of any rank with last dims k and n.
     */
    void matmul(Tensor x, Tensor w, Tensor y);

    /** y = x / sqrt(mean(x^2) + eps) over each row. y may be x. */
    void rms_norm(Tensor x, float eps, Tensor y);

    /**
     * Rotary embedding of x [tokens, heads, head_dim] at positions pos (I32 [tokens]): the first nRot dims
     * of each head rotate, pairs as {@code layout} says. y may be x.
     */
    void rope(Tensor x, Tensor pos, int nRot, float thetaBase, RopeLayout layout, Tensor y);

    /**
     * Causal grouped-query attention of q [n_q, heads, head_dim] over the first nKv rows of the caches k and v
     * [ctx, kv_heads, head_dim] (F32 or F16); query i sits at position qPos0 + i. out [n_q, heads, head_dim].
     */
    void attention(Tensor q, Tensor k, Tensor v, long nKv, long qPos0, float scale, Tensor out);

    /** y = softmax(x) over each row. y may be x. */
    void softmax(Tensor x, Tensor y);

    /** y = silu(gate) * up elementwise. y may be gate or up. */
    void swiglu(Tensor gate, Tensor up, Tensor y);

    /** y = a + b, b's rows repeating over a's rows (a bias: b [1, n]). y may be a. */
    void add(Tensor a, Tensor b, Tensor y);

    /** y = a * b elementwise, b's rows repeating over a's rows. y may be a. */
    void mul(Tensor a, Tensor b, Tensor y);

    /** y = a * s. y may be a. */
    void scale(Tensor a, float s, Tensor y);

    /** dst = src converted to dst's type (F32 to F32/F16/BF16); same element count. Writes KV caches. */
    void copy(Tensor src, Tensor dst);

    // ---- training: the backward rules of the ops above, and the forward ops only training needs ----------

    /** dx = dy . w (the input gradient of {@link #matmul}), w read in its stored type; adds into dx when accumulate. */
    void matmul_backward_x(Tensor dy, Tensor w, Tensor dx, boolean accumulate);

    /** dw += dy^T . x (the weight gradient of {@link #matmul}); dw F32 [n, k], x [m, k], dy [m, n]. */
    void matmul_backward_w(Tensor x, Tensor dy, Tensor dw);

    /** dx of y = rms_norm(x): x and dy [rows, n]. */
    void rms_norm_backward(Tensor x, Tensor dy, float eps, Tensor dx);

    /**
     * out[j] += sum over rows of a[r, j] * b[r, j] (b null: of a[r, j]): the gradient of a row-broadcast operand
     * ({@link #mul}'s b with a = dy, b = x; {@link #add}'s b with b = null).
     */
    void column_sum(Tensor a, Tensor b, Tensor out);

    /** dx of y = softmax(x), from y and dy. */
    void softmax_backward(Tensor y, Tensor dy, Tensor dx);

    /** dgate and dup of y = swiglu(gate, up). */
    void swiglu_backward(Tensor gate, Tensor up, Tensor dy, Tensor dgate, Tensor dup);

    /** Inverted dropout with a mask drawn from (seed, element index); the same call on dy is its backward. */
    void dropout(Tensor x, float p, long seed, Tensor y);

    /** dtable[ids[i]] += dy[i]: the gradient of {@link #get_rows} for an F32 table. */
    void get_rows_backward(Tensor dy, Tensor ids, Tensor dtable);

    /**
     * Causal GQA attention over {@code batch} sequences of t tokens: q [batch * t, heads * d], k and v
     * [batch * t, kvHeads * d]; query i sees keys j <= i of its sequence with the same segment id (seg I32
     * [batch * t], or null). out like q; lse F32 [batch * t, heads] keeps each row's log-sum-exp for the backward.
     */
    void attention_train(Tensor q, Tensor k, Tensor v, Tensor seg, int batch, int heads, int kvHeads, float scale,
            Tensor out, Tensor lse);

    /** dq, dk, dv of {@link #attention_train}, recomputing the scores from q, k and lse (no t x t store). */
    void attention_backward(Tensor q, Tensor k, Tensor v, Tensor seg, Tensor out, Tensor lse, Tensor dout, int batch,
            int heads, int kvHeads, float scale, Tensor dq, Tensor dk, Tensor dv);

    /** Loss sum and number of rows under the loss of one chunk. */
    record CrossEntropy(double lossSum, long count) {}

    /**
     * Masked cross-entropy of logits [rows, vocab] against targets (I32 [rows], negative = not under the loss),
     * in place: the logits become (softmax - onehot) * gradScale (0 for rows not under the loss).
     */
    CrossEntropy cross_entropy(Tensor logits, Tensor targets, float gradScale);

    @Override
    void close();
}
