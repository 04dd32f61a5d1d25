// Fabric engine ops: the C surface bound to Java by dev.fabric.backend.cpu.OpsNative.
//
// One call per op over whole tensors; each op is multithreaded inside on a small native pool (`threads`:
// how many threads may work on it, <= 0 meaning all the cores). Tensors are row-major and contiguous
// unless a stride argument says otherwise: a "row" is the innermost dimension (ggml's ne[0]).
// Activations are F32. Weights stay in their stored ggml type (FABRIC_TYPE_* = ggml type ids) and are
// converted inside the kernels.
//
// Op names match the graph node, the Java backend method and the test: get_rows, matmul, rms_norm, rope,
// attention, softmax, swiglu, add, mul, scale.
#pragma once
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// ggml type ids (GGUF tensor infos) of the weight types the kernels read.
enum {
    FABRIC_TYPE_F32 = 0,
    FABRIC_TYPE_F16 = 1,
    FABRIC_TYPE_Q4_0 = 2,
    FABRIC_TYPE_Q4_1 = 3,
    FABRIC_TYPE_Q5_0 = 6,
    FABRIC_TYPE_Q5_1 = 7,
    FABRIC_TYPE_Q8_0 = 8,
    FABRIC_TYPE_Q2_K = 10,
    FABRIC_TYPE_Q3_K = 11,
    FABRIC_TYPE_Q4_K = 12,
    FABRIC_TYPE_Q5_K = 13,
    FABRIC_TYPE_Q6_K = 14,
    FABRIC_TYPE_IQ4_NL = 20,
    FABRIC_TYPE_IQ4_XS = 23,
    FABRIC_TYPE_BF16 = 30,
};

// Rotary embedding layouts: NORMAL rotates pairs (x[2i], x[2i+1]) (llama); NEOX rotates (x[i], x[i+n/2])
// (qwen2, qwen3), as llama.cpp's LLAMA_ROPE_TYPE_NORM / _NEOX.
enum {
    FABRIC_ROPE_NORMAL = 0,
    FABRIC_ROPE_NEOX = 2,
};

// 1 if the kernels can read weights of this ggml type, else 0.
int32_t fabric_type_supported(int32_t type);
// Bytes of one row of `n` elements of `type` (-1 for an unsupported type or a bad length).
int64_t fabric_row_bytes(int32_t type, int64_t n);

// Aligned (64 bytes) native memory for tensors; zeroed. Returns 0 when out of memory.
void* fabric_alloc(int64_t bytes);
void fabric_free(void* p);

// Kernel variants: 0 generic (portable C++), 1 AVX2+FMA+F16C (NEON on AArch64), 2 AVX-512. The best this CPU
// supports is used unless capped (tests and baselines run each available variant).
const char* fabric_ops_variant(void);  // name of the variant in use
int32_t fabric_ops_best_variant(void);
int32_t fabric_ops_set_variant(int32_t cap);  // returns the variant now in use
// The process-wide ceiling (dev.fabric.backend.cpu.CpuVariant: FABRIC_CPU_VARIANT or --cpu-variant): the best
// variant and every later cap stay at or below it. Returns the variant now in use.
int32_t fabric_ops_set_variant_ceiling(int32_t ceiling);
// 1: F16-cache attention runs one query row at a time (the plain form of the grouped kernel's arithmetic,
// for tests that compare the two bit for bit); 0 (default): grouped. Returns the previous setting.
int32_t fabric_ops_set_attention_rowwise(int32_t on);

// out[i, :] = table[ids[i], :] converted to F32; table has `n_rows` rows of `row_len` elements of `type`.
// Returns the index of the first id out of range, or -1 when all are valid.
int64_t fabric_op_get_rows(int32_t type, const void* table, int64_t n_rows, int64_t row_len, const int32_t* ids,
                           int64_t n_ids, float* out, int32_t threads);

// y[m, n] = x[m, k] . w[n, k]^T: w holds n rows of k elements of `wtype` (a linear layer's weight as GGUF
// stores it). Like llama.cpp, x is first rounded to the weight's dot type (F16 for F16 weights, BF16 for
// BF16) so that products match its CPU backend; F32 weights use x as is. Block-quantized weights (Q4_0, Q5_0,
// Q8_0) meet x quantized to Q8_0 blocks, with integer products per block scaled by both block scales, as
// ggml's CPU dot products do; k must be a multiple of 32. Q4_K, Q5_K and Q6_K meet x quantized to Q8_K
// super-blocks (integer products per super-block, see fabric_matmul_kquants.inc); k a multiple of 256. The other
// block types (Q4_1, Q5_1, Q2_K, Q3_K, IQ4_NL, IQ4_XS) are dequantized to F32 rows (fabric_quant's
// dequantizers) and meet x as is: correct to float rounding, but not llama.cpp's exact numerics and slower.
void fabric_op_matmul(int32_t wtype, const void* w, int64_t n, int64_t k, const float* x, int64_t m, float* y,
                      int32_t threads);

// y[r, :] = x[r, :] / sqrt(mean(x[r, :]^2) + eps) for `rows` rows of n elements (sums in double).
void fabric_op_rms_norm(const float* x, int64_t rows, int64_t n, float eps, float* y, int32_t threads);

// Rotary position embedding of x[n_tokens, n_head, head_dim] (in place allowed: y may equal x). The first
// n_rot dims of each head rotate by angle pos[t] * theta_base^(-2i/n_rot) for pair i; the rest pass through.
void fabric_op_rope(const float* x, int64_t n_tokens, int64_t n_head, int64_t head_dim, int64_t n_rot,
                    const int32_t* pos, float theta_base, int32_t mode, float* y, int32_t threads);

// Causal grouped-query attention. q[n_q, n_head, head_dim]; k and v: n_kv rows (stride kv_stride elements)
// of n_head_kv * head_dim elements of kv_type (F32 or F16); query i sits at position q_pos0 + i and sees
// keys 0..q_pos0+i. Query head h reads KV head h / (n_head / n_head_kv).
// out[n_q, n_head, head_dim] = softmax(scale * q k^T) v.
void fabric_op_attention(const float* q, int64_t n_q, int64_t n_head, int64_t head_dim, int32_t kv_type,
                         const void* k, const void* v, int64_t n_kv, int64_t n_head_kv, int64_t kv_stride,
                         int64_t q_pos0, float scale, float* out, int32_t threads);

// y[r, :] = softmax(x[r, :]) for `rows` rows of n elements.
void fabric_op_softmax(const float* x, int64_t rows, int64_t n, float* y, int32_t threads);

// y = silu(gate) * up, elementwise over `rows` rows of n values (silu(g) = g / (1 + e^-g)). On AVX-512 the
// exponential is ggml's vector approximation for each full group of 16 in a row, on AVX2 its 8-lane form (which
// rounds differently) for each group of 8, libm's expf for the rest, as in llama.cpp's build for that CPU; the
// row length matters only for that split.
void fabric_op_swiglu(const float* gate, const float* up, int64_t rows, int64_t n, float* y, int32_t threads);

// y[r, :] = a[r, :] + b[r % b_rows, :] for `rows` rows of n elements (b broadcasts over rows).
void fabric_op_add(const float* a, int64_t rows, int64_t n, const float* b, int64_t b_rows, float* y,
                   int32_t threads);
// y[r, :] = a[r, :] * b[r % b_rows, :].
void fabric_op_mul(const float* a, int64_t rows, int64_t n, const float* b, int64_t b_rows, float* y,
                   int32_t threads);
// y = a * s over n values.
void fabric_op_scale(const float* a, int64_t n, float s, float* y, int32_t threads);

// Converts n F32 values to `type` (F32, F16 or BF16; round to nearest even), e.g. to write a KV cache.
void fabric_convert_f32(const float* x, int64_t n, int32_t type, void* y, int32_t threads);

#ifdef __cplusplus
}
#endif
