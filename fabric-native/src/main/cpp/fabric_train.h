// Fabric training kernels: the backward halves of the engine's ops (and the forward ops only training needs),
// bound to Java by dev.fabric.backend.cpu.TrainNative. Same conventions as fabric_ops.h: row-major contiguous
// F32 activations, weights in their stored ggml type, `threads` <= 0 meaning all cores.
//
// Determinism: every reduction is partitioned by fixed chunk sizes that do not depend on the thread count,
// and every output element is written by exactly one task, summing its terms in a fixed order. The same
// inputs give the same bits on 1 or N threads.
//
// Names: <op>_backward is the backward rule of the forward op <op> (fabric_op_<op> in fabric_ops.h).
#pragma once
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// Caps the kernel variant: 0 portable C++, 1 up to AVX2, 2 up to AVX-512 (default). Returns the variant now in
// use (what the CPU supports under the cap). Tests run every variant.
int32_t fabric_train_set_variant(int32_t cap);

// dx[m, k] (+)= dy[m, n] . w[n, k]: the input gradient of y = x . w^T, w (n rows of k) read in its stored ggml
// type; rows of w are dequantized block by block into a small per-task scratch, never the whole weight.
// accumulate != 0 adds into dx, else overwrites. Returns 0, or -1 for a type it cannot read.
int32_t fabric_train_matmul_backward_x(int32_t wtype, const void* w, int64_t n, int64_t k, const float* dy,
                                       int64_t m, float* dx, int32_t accumulate, int32_t threads);

// dw[n, k] += sum over rows r of dy[r, n] * x[r, k]: the weight gradient of y = x . w^T (w F32).
void fabric_train_matmul_backward_w(const float* x, int64_t m, int64_t k, const float* dy, int64_t n, float* dw,
                                    int32_t threads);

// dx of y = x / sqrt(mean(x^2) + eps) per row: dx = r * (dy - x * r^2 * mean(dy * x)), r = 1/sqrt(mean(x^2)+eps).
void fabric_train_rms_norm_backward(const float* x, const float* dy, int64_t rows, int64_t n, float eps, float* dx,
                                    int32_t threads);

// out[j] += sum over rows r of a[r, j] * (b ? b[r, j] : 1), for `rows` rows of n: the gradient of a row-broadcast
// operand (mul's weight: a = dy, b = x; add's bias: b = NULL). out has n values.
void fabric_train_column_sum(const float* a, const float* b, int64_t rows, int64_t n, float* out, int32_t threads);

// Row softmax backward: dx = y * (dy - sum(dy * y)).
void fabric_train_softmax_backward(const float* y, const float* dy, int64_t rows, int64_t n, float* dx,
                                   int32_t threads);

// swiglu backward: y = silu(g) * u; dg = dy * u * s * (1 + g * (1 - s)) with s = sigmoid(g); du = dy * silu(g).
void fabric_train_swiglu_backward(const float* gate, const float* up, const float* dy, int64_t n, float* dgate,
                                  float* dup, int32_t threads);

// Inverted dropout: y = x * keep / (1 - p), keep drawn from (seed, element index) by a counter-based hash, so
// the backward (same call on dy) applies the same mask.
void fabric_train_dropout(const float* x, int64_t n, float p, uint64_t seed, float* y, int32_t threads);

// Embedding gradient: dtable[ids[i], :] += dy[i, :] (F32 table of n_rows rows of `cols`). Ids out of range skipped.
void fabric_train_get_rows_backward(const float* dy, const int32_t* ids, int64_t n_ids, int64_t cols, float* dtable,
                                    int64_t n_rows, int32_t threads);

// Causal grouped-query attention over a batch of sequences, F32, with per-row statistics for the backward.
// q [batch, t, n_head, d], k and v [batch, t, n_kv_head, d]; in each sequence query i sees keys j <= i with
// seg[b, j] == seg[b, i] (seg may be NULL: one segment per sequence). out [batch, t, n_head, d];
// lse [batch, t, n_head] = max + log(sum exp(s - max)) of the row's scaled scores.
void fabric_train_attention(const float* q, const float* k, const float* v, const int32_t* seg, int64_t batch,
                            int64_t t, int64_t n_head, int64_t n_kv_head, int64_t d, float scale, float* out,
                            float* lse, int32_t threads);

// Its backward (FlashAttention-2's recomputation: scores rebuilt from q, k and lse; no t x t store):
// dq [batch, t, n_head, d], dk and dv [batch, t, n_kv_head, d] (overwritten).
void fabric_train_attention_backward(const float* q, const float* k, const float* v, const int32_t* seg,
                                     const float* out, const float* lse, const float* dout, int64_t batch, int64_t t,
                                     int64_t n_head, int64_t n_kv_head, int64_t d, float scale, float* dq, float* dk,
                                     float* dv, int32_t threads);

// Masked cross-entropy over one chunk of logits [rows, vocab], in place: for each row whose target >= 0,
// loss += logsumexp(row) - row[target] and the row becomes (softmax(row) - onehot(target)) * grad_scale; rows
// with target < 0 become 0. Returns the chunk's loss sum (in double); *count receives the rows under the loss.
double fabric_train_cross_entropy(float* logits, const int32_t* targets, int64_t rows, int64_t vocab,
                                  float grad_scale, int64_t* count, int32_t threads);

#ifdef __cplusplus
}
#endif
