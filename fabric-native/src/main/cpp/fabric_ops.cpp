// Fabric engine ops, the ops library (see fabric_ops.h): number formats, the thread pool glue, kernel-variant
// choice, the SIMD pieces several ops share; the ops themselves live one family per file (fabric_<family>.inc,
// forward and backward side by side), included below with FABRIC_OPS_FORWARD. Each op has a portable C++
// kernel; the hot ones also have AVX-512 / AVX2 (NEON) kernels chosen at run time from the CPU's features.
#include "fabric_ops.h"
#include "fabric_pool.h"
// fabric_quant's dequantizers (fq::dequant_fn) are compiled into this library too (OpsNative lists
// fabric_quant_dequant.cpp), so get_rows and the dequantize-then-dot fallback share their one definition.
#include "fabric_cpu.h"
#include "fabric_quant_common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

#if defined(__x86_64__)
// GCC 12 warns inside its own AVX-512 headers (their "undefined" vectors): a false positive.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>
#define FABRIC_X86 1
#endif
#if defined(__aarch64__)
#include <arm_neon.h>
#define FABRIC_NEON 1
#endif

namespace {

// ---------------------------------------------------------------------------------------------------------
// Number formats. IEEE binary16 and bfloat16 conversions, rounding to nearest even as F16C and ggml do.

inline float f16_to_f32(uint16_t h) {
    const uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    const uint32_t exp = (h >> 10) & 0x1f;
    const uint32_t mant = h & 0x3ff;
    uint32_t bits;
    if (exp == 0) {
        // zero or subnormal: mant * 2^-24, exact in float
        float f = (float)mant * 5.9604644775390625e-8f;
        memcpy(&bits, &f, 4);
        bits |= sign;
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (mant << 13);
    } else {
        bits = sign | ((exp + 112) << 23) | (mant << 13);
    }
    float out;
    memcpy(&out, &bits, 4);
    return out;
}

inline uint16_t f32_to_f16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    const uint32_t sign = (x >> 16) & 0x8000;
    uint32_t ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u) return (uint16_t)(sign | 0x7e00 | ((ax >> 13) & 0x3ff));  // NaN stays NaN
    if (ax >= 0x477ff000u) return (uint16_t)(sign | 0x7c00);  // >= 65520 rounds to infinity
    if (ax < 0x38800000u) {
        // below 2^-14: the half subnormal grid has step 2^-24, the ulp of 0.5f, so the FPU's own
        // round-to-nearest-even does the rounding
        float a;
        memcpy(&a, &ax, 4);
        a += 0.5f;
        uint32_t b;
        memcpy(&b, &a, 4);
        return (uint16_t)(sign | (b - 0x3f000000u));
    }
    const uint32_t odd = (ax >> 13) & 1;
    ax += 0xc8000000u + 0xfffu + odd;  // rebias the exponent (-112 << 23) and round to nearest even
    return (uint16_t)(sign | (ax >> 13));
}

inline float bf16_to_f32(uint16_t h) {
    uint32_t bits = (uint32_t)h << 16;
    float out;
    memcpy(&out, &bits, 4);
    return out;
}

inline uint16_t f32_to_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 64);  // quiet NaN
    return (uint16_t)((u + (0x7fffu + ((u >> 16) & 1))) >> 16);
}

// Thread pool: fabric_pool.h (shared with the training kernels).

// Runs body(begin, end) over [0, n) split into chunks of at least `grain` items.
template <class F>
void parallel_for(int64_t n, int64_t grain, int threads, F&& body) {
    if (n <= 0) return;
    grain = std::max<int64_t>(1, grain);
    const int64_t n_tasks = (n + grain - 1) / grain;
    struct Ctx {
        F* body;
        int64_t n, grain;
    } ctx{&body, n, grain};
    pool().run(n_tasks, threads, [](void* c, int64_t t) {
        Ctx* x = (Ctx*)c;
        const int64_t b = t * x->grain;
        (*x->body)(b, std::min(x->n, b + x->grain));
    }, &ctx);
}

// Elementwise grain: large enough that a task is worth a wake-up.
constexpr int64_t kGrain = 1 << 14;

// Kernel variants, best last: chosen from the CPU's features, held under a process-wide ceiling
// (fabric_ops_set_variant_ceiling: FABRIC_CPU_VARIANT / --cpu-variant) and capped by fabric_ops_set_variant (tests).
enum { V_GENERIC = 0, V_AVX2 = 1, V_AVX512 = 2 };
constexpr int V_NEON = 1;  // on AArch64 the one SIMD level (NEON is part of the base architecture)
int g_variant_cap = V_AVX512;
int g_variant_ceiling = V_AVX512;
int g_attention_rowwise = 0;  // fabric_ops_set_attention_rowwise

// What this CPU runs, before any ceiling.
int cpu_variant() {
#if FABRIC_X86
    static const int best = [] {
        __builtin_cpu_init();
        const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
                          __builtin_cpu_supports("f16c");
        const bool avx512 = avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                            __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
        return avx512 ? V_AVX512 : avx2 ? V_AVX2 : V_GENERIC;
    }();
    return best;
#elif FABRIC_NEON
    return V_NEON;
#else
    return V_GENERIC;
#endif
}

// The best variant this process may run: the CPU's, under the ceiling.
int cpu_best_variant() { return std::min(cpu_variant(), g_variant_ceiling); }

inline int variant() { return std::min(cpu_best_variant(), g_variant_cap); }
#if FABRIC_X86
inline bool has_avx512() { return variant() == V_AVX512; }
inline bool has_avx2() { return variant() == V_AVX2; }
#else
inline bool has_avx512() { return false; }
inline bool has_avx2() { return false; }
#endif
#if FABRIC_NEON
inline bool has_neon() { return variant() == V_NEON; }
#endif

// ---------------------------------------------------------------------------------------------------------
// Element types as the kernels see them: load one element as float.

struct TF32 {
    typedef float T;
    static float get(const float* p, int64_t i) { return p[i]; }
};
struct TF16 {
    typedef uint16_t T;
    static float get(const uint16_t* p, int64_t i) { return f16_to_f32(p[i]); }
};
struct TBF16 {
    typedef uint16_t T;
    static float get(const uint16_t* p, int64_t i) { return bf16_to_f32(p[i]); }
};


// ---------------------------------------------------------------------------------------------------------
// Block-quantized weights (ggml layouts; shared/specs/quantization.md section 2). Each type has: a row
// dequantizer (get_rows), the type x is quantized to for its dot products (Q8_0 for these three), and a dot
// product of one weight row with one quantized x row. K-quants (Q8_K activations) live in
// fabric_matmul_kquants.inc; the remaining block types go through fabric_quant's dequantizers.

constexpr int QK = 32;

struct BlockQ8_0 {
    uint16_t d;
    int8_t qs[QK];
};
struct BlockQ5_0 {
    uint16_t d;
    uint8_t qh[4];
    uint8_t qs[QK / 2];
};
struct BlockQ4_0 {
    uint16_t d;
    uint8_t qs[QK / 2];
};
static_assert(sizeof(BlockQ8_0) == 34 && sizeof(BlockQ5_0) == 22 && sizeof(BlockQ4_0) == 18, "ggml block sizes");

bool is_quantized(int32_t type) {
    return type == FABRIC_TYPE_Q4_0 || type == FABRIC_TYPE_Q5_0 || type == FABRIC_TYPE_Q8_0;
}

// Block types read only through fabric_quant's dequantizers (and K-quants' get_rows).
bool is_dequant_only(int32_t type) {
    switch (type) {
        case FABRIC_TYPE_Q4_1: case FABRIC_TYPE_Q5_1: case FABRIC_TYPE_Q2_K: case FABRIC_TYPE_Q3_K:
        case FABRIC_TYPE_IQ4_NL: case FABRIC_TYPE_IQ4_XS: return true;
    }
    return false;
}

// The dequantizers compiled into this library follow the ops' variant (every build gives the same floats).
void sync_dequant_isa() {
    const int v = variant();
    fabric_quant_set_isa(v == V_AVX512 ? (FABRIC_ISA_AVX2 | FABRIC_ISA_AVX512) : v == V_AVX2 ? FABRIC_ISA_AVX2 : 0);
}

fq::DequantFn dequant_for(int32_t type) {
    static const bool isa_set = [] {
        sync_dequant_isa();
        return true;
    }();
    (void)isa_set;
    return fq::dequant_fn(type);
}

// The 32 integer levels of block b of a Q4_0/Q5_0/Q8_0 row, centred (value = d * level).
inline void block_levels(int32_t type, const void* row, int64_t b, int32_t* q, float* d) {
    switch (type) {
        case FABRIC_TYPE_Q8_0: {
            const BlockQ8_0& x = ((const BlockQ8_0*)row)[b];
            *d = f16_to_f32(x.d);
            for (int j = 0; j < QK; j++) q[j] = x.qs[j];
            break;
        }
        case FABRIC_TYPE_Q5_0: {
            const BlockQ5_0& x = ((const BlockQ5_0*)row)[b];
            *d = f16_to_f32(x.d);
            uint32_t qh;
            memcpy(&qh, x.qh, 4);
            for (int j = 0; j < QK / 2; j++) {
                q[j] = (int32_t)((x.qs[j] & 0x0f) | (((qh >> j) & 1) << 4)) - 16;
                q[j + 16] = (int32_t)((x.qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4)) - 16;
            }
            break;
        }
        case FABRIC_TYPE_Q4_0: {
            const BlockQ4_0& x = ((const BlockQ4_0*)row)[b];
            *d = f16_to_f32(x.d);
            for (int j = 0; j < QK / 2; j++) {
                q[j] = (int32_t)(x.qs[j] & 0x0f) - 8;
                q[j + 16] = (int32_t)(x.qs[j] >> 4) - 8;
            }
            break;
        }
        default: abort();
    }
}

void dequantize_row(int32_t type, const void* row, int64_t n, float* y) {
    int32_t q[QK];
    float d;
    for (int64_t b = 0; b < n / QK; b++) {
        block_levels(type, row, b, q, &d);
        for (int j = 0; j < QK; j++) y[b * QK + j] = d * (float)q[j];
    }
}

// x to Q8_0 as llama.cpp's x86 build quantizes activations: d = amax / 127 (stored as F16), levels
// round-half-even(x * (127 / amax)).
void quantize_row_q8_0(const float* x, int64_t n, BlockQ8_0* y) {
    for (int64_t b = 0; b < n / QK; b++) {
        float amax = 0.0f;
        for (int j = 0; j < QK; j++) amax = std::max(amax, fabsf(x[b * QK + j]));
        const float d = amax / 127.0f;
        const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
        y[b].d = f32_to_f16(d);
        for (int j = 0; j < QK; j++) y[b].qs[j] = (int8_t)nearbyintf(x[b * QK + j] * id);
    }
}

// The dot product in the arithmetic of ggml's x86 (AVX2 and up) kernels for these types, both its tiled
// GEMM and its vec_dot: eight float lanes, lane l taking the integer sum of elements 4l..4l+3 of each block
// times d_w * d_x by FMA, then added as (l0+l4 + l2+l6) + (l1+l5 + l3+l7), i.e. halves, then pairs.
float dot_quant_q8_0(int32_t type, const void* w, const BlockQ8_0* x, int64_t n) {
    int32_t q[QK];
    float d, lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (int64_t b = 0; b < n / QK; b++) {
        block_levels(type, w, b, q, &d);
        const float scale = d * f16_to_f32(x[b].d);
        for (int l = 0; l < 8; l++) {
            int32_t sumi = 0;
            for (int j = 4 * l; j < 4 * l + 4; j++) sumi += q[j] * (int32_t)x[b].qs[j];
            lane[l] = fmaf(scale, (float)sumi, lane[l]);
        }
    }
    float t[4];
    for (int i = 0; i < 4; i++) t[i] = lane[i + 4] + lane[i];
    return (t[0] + t[2]) + (t[1] + t[3]);
}

// ---------------------------------------------------------------------------------------------------------
// SIMD pieces shared by several op families: vector loaders per element type, reductions in ggml's order,
// F32 -> F16 conversion, dot and axpy of F32 rows.

#if FABRIC_X86
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512dq,avx512vl,fma,f16c")

struct V16F32 {
    typedef float T;
    static __m512 load(const float* p) { return _mm512_loadu_ps(p); }
    static __m512 load_n(const float* p, int64_t n) { return _mm512_maskz_loadu_ps((__mmask16)((1u << n) - 1), p); }
};
struct V16F16 {
    typedef uint16_t T;
    static __m512 load(const uint16_t* p) { return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i*)p)); }
    static __m512 load_n(const uint16_t* p, int64_t n) {
        return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16((__mmask16)((1u << n) - 1), p));
    }
};
struct V16BF16 {
    typedef uint16_t T;
    static __m512 widen(__m256i h) { return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16)); }
    static __m512 load(const uint16_t* p) { return widen(_mm256_loadu_si256((const __m256i*)p)); }
    static __m512 load_n(const uint16_t* p, int64_t n) {
        return widen(_mm256_maskz_loadu_epi16((__mmask16)((1u << n) - 1), p));
    }
};

// _mm512_reduce_add_ps of 16 vectors at once: r[o] = reduce(t[o]), with the same pairs added at each level
// (lanes i and i+8, then i and i+4, i and i+2, i and i+1), so each result has the same bits as the one-vector
// reduction; the vectors are paired up by shuffles instead of each being folded on its own.
inline __m512 reduce16_avx512(const __m512* t) {
    __m512 u[8], v[4], w[2];
    for (int i = 0; i < 8; i++)
        u[i] = _mm512_add_ps(_mm512_shuffle_f32x4(t[2 * i], t[2 * i + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                             _mm512_shuffle_f32x4(t[2 * i], t[2 * i + 1], _MM_SHUFFLE(3, 2, 3, 2)));
    for (int i = 0; i < 4; i++)
        v[i] = _mm512_add_ps(_mm512_shuffle_f32x4(u[2 * i], u[2 * i + 1], _MM_SHUFFLE(2, 0, 2, 0)),
                             _mm512_shuffle_f32x4(u[2 * i], u[2 * i + 1], _MM_SHUFFLE(3, 1, 3, 1)));
    for (int i = 0; i < 2; i++)
        w[i] = _mm512_add_ps(_mm512_shuffle_ps(v[2 * i], v[2 * i + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                             _mm512_shuffle_ps(v[2 * i], v[2 * i + 1], _MM_SHUFFLE(3, 2, 3, 2)));
    const __m512 z = _mm512_add_ps(_mm512_shuffle_ps(w[0], w[1], _MM_SHUFFLE(2, 0, 2, 0)),
                                   _mm512_shuffle_ps(w[0], w[1], _MM_SHUFFLE(3, 1, 3, 1)));
    // lane 4c + j of z holds r[4j + c]
    return _mm512_permutexvar_ps(_mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15), z);
}

// ggml's reduction of four 16-lane accumulators: (a0+a2)+(a1+a3), then across lanes.
inline float hsum4_avx512(const __m512* a) {
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a[0], a[2]), _mm512_add_ps(a[1], a[3])));
}

// Converts n F32 values to F16 / BF16 eight or sixteen at a time (same rounding as the scalar code).
void to_f16_avx512(const float* x, int64_t n, uint16_t* y) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm256_storeu_si256((__m256i*)(y + i), _mm512_cvtps_ph(_mm512_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; i++) y[i] = f32_to_f16(x[i]);
}

// y = x rounded to F16 and widened back (to_f16_avx512 then the exact widening, in one pass)
void round_f16_avx512(const float* x, int64_t n, float* y) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(y + i, _mm512_cvtph_ps(_mm512_cvtps_ph(_mm512_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT)));
    for (; i < n; i++) y[i] = f16_to_f32(f32_to_f16(x[i]));
}

float dot_f32_avx512(const float* a, const float* b, int64_t n) {
    __m512 acc = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) acc = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc);
    if (i < n) {
        const __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), acc);
    }
    return _mm512_reduce_add_ps(acc);
}

// acc[0..n) += s * v[0..n)
template <class V>
void axpy_avx512(float s, const typename V::T* v, int64_t n, float* acc) {
    const __m512 sv = _mm512_set1_ps(s);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(acc + i, _mm512_fmadd_ps(sv, V::load(v + i), _mm512_loadu_ps(acc + i)));
    if (i < n) {
        const __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        const __m512 a = _mm512_maskz_loadu_ps(m, acc + i);
        _mm512_mask_storeu_ps(acc + i, m, _mm512_fmadd_ps(sv, V::load_n(v + i, n - i), a));
    }
}

#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c")

// AVX2 + F16C: 8 lanes. Tails (k % 8) are summed in scalar code after the vector loop.
struct V8F32 {
    typedef float T;
    static __m256 load(const float* p) { return _mm256_loadu_ps(p); }
    static float get(const float* p, int64_t i) { return p[i]; }
};
struct V8F16 {
    typedef uint16_t T;
    static __m256 load(const uint16_t* p) { return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i*)p)); }
    static float get(const uint16_t* p, int64_t i) { return _cvtsh_ss(p[i]); }
};
struct V8BF16 {
    typedef uint16_t T;
    static __m256 load(const uint16_t* p) {
        return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i*)p)), 16));
    }
    static float get(const uint16_t* p, int64_t i) { return bf16_to_f32(p[i]); }
};

inline float hsum_avx2(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

void to_f16_avx2(const float* x, int64_t n, uint16_t* y) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i*)(y + i), _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; i++) y[i] = f32_to_f16(x[i]);
}

float dot_f32_avx2(const float* a, const float* b, int64_t n) {
    __m256 acc = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc);
    float t = hsum_avx2(acc);
    for (; i < n; i++) t += a[i] * b[i];
    return t;
}

void axpy_f32_avx2(float s, const float* v, int64_t n, float* acc) {
    const __m256 sv = _mm256_set1_ps(s);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(acc + i, _mm256_fmadd_ps(sv, _mm256_loadu_ps(v + i), _mm256_loadu_ps(acc + i)));
    for (; i < n; i++) acc[i] += s * v[i];
}

#pragma GCC pop_options
#endif

void to_f16(const float* x, int64_t n, uint16_t* y) {
#if FABRIC_X86
    if (has_avx512()) {
        to_f16_avx512(x, n, y);
        return;
    }
    if (has_avx2()) {
        to_f16_avx2(x, n, y);
        return;
    }
#endif
    for (int64_t i = 0; i < n; i++) y[i] = f32_to_f16(x[i]);
}

void axpy_f32(float a, const float* x, int64_t n, float* y) {
#if FABRIC_X86
    if (has_avx512()) {
        axpy_avx512<V16F32>(a, x, n, y);
        return;
    }
    if (has_avx2()) {
        axpy_f32_avx2(a, x, n, y);
        return;
    }
#endif
    for (int64_t i = 0; i < n; i++) y[i] += a * x[i];
}

float dot_f32(const float* a, const float* b, int64_t n) {
#if FABRIC_X86
    if (has_avx512()) return dot_f32_avx512(a, b, n);
    if (has_avx2()) return dot_f32_avx2(a, b, n);
#endif
    float acc = 0.0f;
    for (int64_t i = 0; i < n; i++) acc += a[i] * b[i];
    return acc;
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------
// The op families.

#define FABRIC_OPS_FORWARD 1
#include "fabric_elementwise.inc"
#include "fabric_norm.inc"
#include "fabric_rope.inc"
#include "fabric_matmul.inc"
#include "fabric_attention.inc"
#include "fabric_embedding.inc"
#include "fabric_loss.inc"
#undef FABRIC_OPS_FORWARD

// =========================================================================================================
// C surface

extern "C" {

int32_t fabric_type_supported(int32_t type) {
    return type == FABRIC_TYPE_F32 || type == FABRIC_TYPE_F16 || type == FABRIC_TYPE_BF16 || is_quantized(type) ||
           is_kquant_q8k(type) || is_dequant_only(type);
}

int64_t fabric_row_bytes(int32_t type, int64_t n) {
    if (n < 0) return -1;
    switch (type) {
        case FABRIC_TYPE_F32: return n * 4;
        case FABRIC_TYPE_F16:
        case FABRIC_TYPE_BF16: return n * 2;
        case FABRIC_TYPE_Q4_0: return n % QK ? -1 : n / QK * (int64_t)sizeof(BlockQ4_0);
        case FABRIC_TYPE_Q5_0: return n % QK ? -1 : n / QK * (int64_t)sizeof(BlockQ5_0);
        case FABRIC_TYPE_Q8_0: return n % QK ? -1 : n / QK * (int64_t)sizeof(BlockQ8_0);
    }
    if (is_kquant_q8k(type) || is_dequant_only(type)) {
        const int64_t be = fq::block_elems(type);
        return n % be ? -1 : n / be * fq::block_bytes(type);
    }
    return -1;
}

void* fabric_alloc(int64_t bytes) {
    const size_t size = (size_t)((std::max<int64_t>(bytes, 1) + 63) / 64 * 64);
    void* p = aligned_alloc(64, size);
    if (p) memset(p, 0, size);
    return p;
}

void fabric_free(void* p) { free(p); }

const char* fabric_ops_variant(void) {
#if FABRIC_NEON
    static const char* names[] = {"generic", "neon"};
#else
    static const char* names[] = {"generic", "avx2", "avx512"};
#endif
    return names[variant()];
}

int32_t fabric_ops_best_variant(void) { return cpu_best_variant(); }

int32_t fabric_ops_set_attention_rowwise(int32_t on) {
    const int32_t was = g_attention_rowwise;
    g_attention_rowwise = on != 0;
    return was;
}

int32_t fabric_ops_set_variant(int32_t cap) {
    g_variant_cap = std::max<int32_t>(V_GENERIC, std::min<int32_t>(cap, V_AVX512));
    sync_dequant_isa();
    return variant();
}

int32_t fabric_ops_set_variant_ceiling(int32_t ceiling) {
    g_variant_ceiling = std::max<int32_t>(V_GENERIC, std::min<int32_t>(ceiling, V_AVX512));
    sync_dequant_isa();
    return variant();
}

void fabric_convert_f32(const float* x, int64_t n, int32_t type, void* y, int32_t threads) {
    parallel_for(n, kGrain, threads, [&](int64_t b, int64_t e) {
        switch (type) {
            case FABRIC_TYPE_F32: memcpy((float*)y + b, x + b, (size_t)(e - b) * 4); break;
            case FABRIC_TYPE_F16: to_f16(x + b, e - b, (uint16_t*)y + b); break;
            case FABRIC_TYPE_BF16:
                for (int64_t i = b; i < e; i++) ((uint16_t*)y)[i] = f32_to_bf16(x[i]);
                break;
            default: abort();
        }
    });
}

}  // extern "C"
