// Fabric engine ops (see fabric_ops.h). Layout of this file: number formats, the thread pool, then one
// section per op. Each op has a portable C++ kernel; the hot ones (matmul, attention) also have an
// AVX-512 kernel chosen at run time from the CPU's features.
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
// fabric_ops_kquants.inc; the remaining block types go through fabric_quant's dequantizers.

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

#include "fabric_ops_kquants.inc"

void convert_row(int32_t type, const void* src, int64_t n, float* dst) {
    if (is_kquant_q8k(type) || is_dequant_only(type)) {
        dequant_for(type)((const uint8_t*)src, dst, n / fq::block_elems(type));
        return;
    }
    if (is_quantized(type)) {
        dequantize_row(type, src, n, dst);
        return;
    }
    switch (type) {
        case FABRIC_TYPE_F32: memcpy(dst, src, (size_t)n * 4); break;
        case FABRIC_TYPE_F16:
            for (int64_t i = 0; i < n; i++) dst[i] = f16_to_f32(((const uint16_t*)src)[i]);
            break;
        case FABRIC_TYPE_BF16:
            for (int64_t i = 0; i < n; i++) dst[i] = bf16_to_f32(((const uint16_t*)src)[i]);
            break;
        default: abort();
    }
}

// ---------------------------------------------------------------------------------------------------------
// matmul. The work is a grid of tiles: a tile is RX rows of x against CW rows of w, each output one dot
// product over k. Both operands are in the same "dot type" (F32, F16 or BF16), widened to F32 in registers
// and accumulated in F32 with FMA. A new weight type adds a tile kernel for its block layout (or a
// dequantize-row function for the generic path) and a dot type for x (e.g. Q8_0 for Q4_0, as ggml pairs them).

constexpr int kTile = 4;  // RX, CW <= kTile

template <class E>
void tile_generic(const void* xv, int64_t ldx, const void* wv, int64_t ldw, int64_t k, int rx, int cw, float* y,
                  int64_t ldy) {
    const typename E::T* x = (const typename E::T*)xv;
    const typename E::T* w = (const typename E::T*)wv;
    for (int r = 0; r < rx; r++)
        for (int c = 0; c < cw; c++) {
            float acc = 0.0f;
            const typename E::T* xr = x + r * ldx;
            const typename E::T* wr = w + c * ldw;
            for (int64_t i = 0; i < k; i++) acc += E::get(xr, i) * E::get(wr, i);
            y[r * ldy + c] = acc;
        }
}

typedef float (*VecDotFn)(const float* x, const void* w, int64_t k);
typedef void (*TileFn)(const void* x, int64_t ldx, const void* w, int64_t ldw, int64_t k, int rx, int cw, float* y,
                       int64_t ldy);

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

// x (VX) and w (VW) may differ in storage: for F16/BF16 weights x arrives as F32 values already rounded to
// the dot type, so only w is widened in the inner loop (same products, fewer conversions).
template <class VX, class VW, int RX, int CW>
void tile_avx512_fixed(const typename VX::T* x, int64_t ldx, const typename VW::T* w, int64_t ldw, int64_t k,
                       float* y, int64_t ldy) {
    __m512 acc[RX][CW];
    for (int r = 0; r < RX; r++)
        for (int c = 0; c < CW; c++) acc[r][c] = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= k; i += 16) {
        __m512 wv[CW];
        for (int c = 0; c < CW; c++) wv[c] = VW::load(w + c * ldw + i);
        for (int r = 0; r < RX; r++) {
            const __m512 xv = VX::load(x + r * ldx + i);
            for (int c = 0; c < CW; c++) acc[r][c] = _mm512_fmadd_ps(xv, wv[c], acc[r][c]);
        }
    }
    if (i < k) {
        const int64_t rest = k - i;
        __m512 wv[CW];
        for (int c = 0; c < CW; c++) wv[c] = VW::load_n(w + c * ldw + i, rest);
        for (int r = 0; r < RX; r++) {
            const __m512 xv = VX::load_n(x + r * ldx + i, rest);
            for (int c = 0; c < CW; c++) acc[r][c] = _mm512_fmadd_ps(xv, wv[c], acc[r][c]);
        }
    }
    for (int r = 0; r < RX; r++)
        for (int c = 0; c < CW; c++) y[r * ldy + c] = _mm512_reduce_add_ps(acc[r][c]);
}

template <class VX, class VW>
void tile_avx512(const void* xv, int64_t ldx, const void* wv, int64_t ldw, int64_t k, int rx, int cw, float* y,
                 int64_t ldy) {
    typedef void (*Fixed)(const typename VX::T*, int64_t, const typename VW::T*, int64_t, int64_t, float*, int64_t);
#define FABRIC_T(R) {tile_avx512_fixed<VX, VW, R, 1>, tile_avx512_fixed<VX, VW, R, 2>, \
                     tile_avx512_fixed<VX, VW, R, 3>, tile_avx512_fixed<VX, VW, R, 4>}
    static const Fixed table[kTile][kTile] = {FABRIC_T(1), FABRIC_T(2), FABRIC_T(3), FABRIC_T(4)};
#undef FABRIC_T
    table[rx - 1][cw - 1]((const typename VX::T*)xv, ldx, (const typename VW::T*)wv, ldw, k, y, ldy);
}

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

// The dense GEMM of prompt processing: RX rows of x (F32 values) by 4 weight rows per register tile, 24
// accumulators for RX = 6. Each output's lane accumulators take the FMAs in increasing k, as in
// tile_avx512_fixed, and end in the same lane reduction (reduce16_avx512, 16 outputs at a time), so the
// results are those of the 4x4 tile. k runs in blocks (the x tile stays in L1 while the weight rows stream
// past); between blocks the accumulators wait in `park`, which changes no bits.
constexpr int kGemmRows = 6;

template <class VW, int RX>
void gemm_tile_avx512(const float* x, int64_t ldx, const typename VW::T* w, int64_t ldw, int64_t k0, int64_t k1,
                      bool first, bool final, float* park, float* y, int64_t ldy) {
    constexpr int CW = 4;
    __m512 acc[RX][CW];
#pragma GCC unroll 8
    for (int r = 0; r < RX; r++)
#pragma GCC unroll 4
        for (int c = 0; c < CW; c++) acc[r][c] = first ? _mm512_setzero_ps() : _mm512_loadu_ps(park + 16 * (r * CW + c));
    for (int64_t i = k0; i < k1; i += 16) {
        __m512 wv[CW];
#pragma GCC unroll 4
        for (int c = 0; c < CW; c++) wv[c] = VW::load(w + c * ldw + i);
#pragma GCC unroll 8
        for (int r = 0; r < RX; r++) {
            const __m512 xv = _mm512_loadu_ps(x + r * ldx + i);
#pragma GCC unroll 4
            for (int c = 0; c < CW; c++) acc[r][c] = _mm512_fmadd_ps(xv, wv[c], acc[r][c]);
        }
    }
    if (!final) {
#pragma GCC unroll 8
        for (int r = 0; r < RX; r++)
#pragma GCC unroll 4
            for (int c = 0; c < CW; c++) _mm512_storeu_ps(park + 16 * (r * CW + c), acc[r][c]);
        return;
    }
    __m512 t[32];
#pragma GCC unroll 8
    for (int r = 0; r < RX; r++)
#pragma GCC unroll 4
        for (int c = 0; c < CW; c++) t[r * CW + c] = acc[r][c];
    for (int i = RX * CW; i < 32; i++) t[i] = _mm512_setzero_ps();
    alignas(64) float out[32];
    _mm512_store_ps(out, reduce16_avx512(t));
    if (RX * CW > 16) _mm512_store_ps(out + 16, reduce16_avx512(t + 16));
#pragma GCC unroll 8
    for (int r = 0; r < RX; r++) _mm_storeu_ps(y + r * ldy, _mm_load_ps(out + r * CW));
}

// y[m, n] (m >= 2, k % 16 == 0, n % 4 == 0) for one task: x rows [x0, x1) by weight rows [w0, w1).
template <class VW>
void gemm_block_avx512(const float* x, const typename VW::T* w, int64_t k, int64_t n, int64_t x0, int64_t x1,
                       int64_t w0, int64_t w1, float* y) {
    typedef void (*Tile)(const float*, int64_t, const typename VW::T*, int64_t, int64_t, int64_t, bool, bool, float*,
                         float*, int64_t);
    static const Tile tiles[kGemmRows] = {gemm_tile_avx512<VW, 1>, gemm_tile_avx512<VW, 2>, gemm_tile_avx512<VW, 3>,
                                          gemm_tile_avx512<VW, 4>, gemm_tile_avx512<VW, 5>, gemm_tile_avx512<VW, 6>};
    constexpr int64_t kc = 1024;  // k block: 6 x rows of it are 24 KiB, half of L1
    const int64_t n_ct = (w1 - w0) / 4;
    static thread_local std::vector<float> park;
    if (k > kc && (int64_t)park.size() < n_ct * kGemmRows * 4 * 16) park.resize((size_t)(n_ct * kGemmRows * 4 * 16));
    for (int64_t r = x0; r < x1; r += kGemmRows) {
        const int rx = (int)std::min<int64_t>(kGemmRows, x1 - r);
        const Tile tile = tiles[rx - 1];
        for (int64_t kb = 0; kb < k; kb += kc) {
            const int64_t ke = std::min(k, kb + kc);
            for (int64_t ct = 0; ct < n_ct; ct++) {
                const int64_t c = w0 + 4 * ct;
                tile(x + r * k, k, w + c * k, k, kb, ke, kb == 0, ke == k,
                     k > kc ? park.data() + ct * kGemmRows * 4 * 16 : nullptr, y + r * n + c, n);
            }
        }
    }
}

typedef void (*GemmBlockFn)(const float* x, const void* w, int64_t k, int64_t n, int64_t x0, int64_t x1, int64_t w0,
                            int64_t w1, float* y);
template <class VW>
void gemm_block_avx512_v(const float* x, const void* w, int64_t k, int64_t n, int64_t x0, int64_t x1, int64_t w0,
                         int64_t w1, float* y) {
    gemm_block_avx512<VW>(x, (const typename VW::T*)w, k, n, x0, x1, w0, w1, y);
}

// One x row against 8 weight rows (generation): twice the loads in flight of the 4-wide tile, and the same
// per-output sums (each output keeps its own accumulator and reduction), so results match the tile's.
template <class VW>
void row8_avx512(const float* x, const void* wp, int64_t ldw, int64_t k, float* y) {
    // tile_avx512_fixed<V16F32, VW, 1, 8>'s arithmetic, prefetching the same cache lines of the next eight
    // rows: the weights stream once from memory, and eight strided streams outrun the hardware prefetcher
    // (measured: ~6% faster generation on F16 weights; a prefetch past the tensor's end cannot fault)
    const typename VW::T* w = (const typename VW::T*)wp;
    __m512 acc[8];
    for (int c = 0; c < 8; c++) acc[c] = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= k; i += 16) {
        const __m512 xv = _mm512_loadu_ps(x + i);
        if ((i * (int64_t)sizeof(typename VW::T)) % 64 == 0)
            for (int c = 0; c < 8; c++) _mm_prefetch((const char*)(w + (c + 8) * ldw + i), _MM_HINT_T0);
        for (int c = 0; c < 8; c++) acc[c] = _mm512_fmadd_ps(xv, VW::load(w + c * ldw + i), acc[c]);
    }
    if (i < k) {
        const int64_t rest = k - i;
        const __m512 xv = V16F32::load_n(x + i, rest);
        for (int c = 0; c < 8; c++) acc[c] = _mm512_fmadd_ps(xv, VW::load_n(w + c * ldw + i, rest), acc[c]);
    }
    for (int c = 0; c < 8; c++) y[c] = _mm512_reduce_add_ps(acc[c]);
}

// ggml's reduction of four 16-lane accumulators: (a0+a2)+(a1+a3), then across lanes.
inline float hsum4_avx512(const __m512* a) {
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a[0], a[2]), _mm512_add_ps(a[1], a[3])));
}

// One output in the order of ggml's vec_dot (the path llama.cpp's AVX-512 build takes when its tiled GEMM
// declines: k not a multiple of 16, an output count not a multiple of 4, or a single token): four 16-lane
// FMA accumulators over blocks of 64, added as (a0+a2)+(a1+a3) and across lanes; the rest in order, in F32
// for F32 weights (see the tail below), in double for F16 weights (whose products are exact). x holds F32 values (for F16
// weights already rounded to F16).
template <class VW>
float vecdot_ggml_avx512(const float* x, const typename VW::T* w, int64_t k) {
    const int64_t body = k & ~(int64_t)63;
    __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
    for (int64_t i = 0; i < body; i += 64)
        for (int j = 0; j < 4; j++)
            acc[j] = _mm512_fmadd_ps(_mm512_loadu_ps(x + i + 16 * j), VW::load(w + i + 16 * j), acc[j]);
    const float head = body > 0 ? hsum4_avx512(acc) : 0.0f;
    if constexpr (std::is_same<VW, V16F32>::value) {
        // ggml's tail loop as GCC vectorises it: products 16 and then 8 at a time, added one by one (the
        // product rounded), and the last k % 8 by scalar FMA
        float sum = head;
        const int64_t split = body + ((k - body) & ~(int64_t)7);
        for (int64_t i = body; i < split; i++) sum += x[i] * w[i];
        for (int64_t i = split; i < k; i++) sum = fmaf(x[i], w[i], sum);
        return sum;
    } else {
        double sum = head;
        for (int64_t i = body; i < k; i++) sum += (double)(x[i] * f16_to_f32(w[i]));
        return (float)sum;
    }
}

template <class VW>
float vecdot_ggml_avx512_v(const float* x, const void* w, int64_t k) {
    return vecdot_ggml_avx512<VW>(x, (const typename VW::T*)w, k);
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

// e^x for 16 lanes as ggml's AVX-512 build computes it (the expf of ARM's optimized-routines, which llama.cpp
// uses in silu and softmax): x = n ln2 + b with n = round(x / ln2) found by adding and subtracting 1.5 * 2^23,
// ln2 split in two parts; e^b from a degree-5 polynomial evaluated as two FMA halves in b^2; then scaled by
// 2^n with vscalefps. Lanes with |n| > 192 give +inf (x > 0) or 0.
inline __m512 exp_ggml_avx512(__m512 x) {
    const __m512 shift = _mm512_set1_ps(0x1.8p23f);
    const __m512 z = _mm512_fmadd_ps(x, _mm512_set1_ps(0x1.715476p+0f), shift);
    const __m512 n = _mm512_sub_ps(z, shift);
    const __m512 b = _mm512_fnmadd_ps(n, _mm512_set1_ps(0x1.7f7d1cp-20f),
                                      _mm512_fnmadd_ps(n, _mm512_set1_ps(0x1.62e4p-1f), x));
    const __m512 b2 = _mm512_mul_ps(b, b);
    const __m512 hi = _mm512_fmadd_ps(_mm512_fmadd_ps(_mm512_set1_ps(0x1.0e4020p-7f), b, _mm512_set1_ps(0x1.573e2ep-5f)),
                                      b2, _mm512_fmadd_ps(_mm512_set1_ps(0x1.555e66p-3f), b, _mm512_set1_ps(0x1.fffdb6p-2f)));
    const __m512 p = _mm512_fmadd_ps(hi, b2, _mm512_fmadd_ps(_mm512_set1_ps(0x1.ffffecp-1f), b, _mm512_set1_ps(1.0f)));
    const __m512 r = _mm512_scalef_ps(p, n);
    const __mmask16 out_of_range = _mm512_cmp_ps_mask(_mm512_abs_ps(n), _mm512_set1_ps(192.0f), _CMP_GT_OQ);
    if (!out_of_range) return r;
    const __mmask16 nonpos = _mm512_cmp_ps_mask(n, _mm512_setzero_ps(), _CMP_LE_OQ);
    const __m512 limit = _mm512_mask_blend_ps(nonpos, _mm512_set1_ps(INFINITY), _mm512_setzero_ps());
    return _mm512_mask_blend_ps(out_of_range, r, limit);
}

// NEOX rope of one head over the full groups of 16 pairs (x0 = x[i], x1 = x[i + half]); cs holds cos then
// sin per pair. Same roundings as the scalar loop: x0*c - x1*s and x0*s + x1*c with the x0 product fused.
// Returns how many pairs it did.
int64_t rope_neox_avx512(const float* x, const float* cs, int64_t half, float* y) {
    int64_t i = 0;
    for (; i + 16 <= half; i += 16) {
        const __m512 x0 = _mm512_loadu_ps(x + i), x1 = _mm512_loadu_ps(x + half + i);
        const __m512 c = _mm512_loadu_ps(cs + i), s = _mm512_loadu_ps(cs + half + i);
        _mm512_storeu_ps(y + i, _mm512_fmsub_ps(x0, c, _mm512_mul_ps(x1, s)));
        _mm512_storeu_ps(y + half + i, _mm512_fmadd_ps(x0, s, _mm512_mul_ps(x1, c)));
    }
    return i;
}

// Sums of squares of 8 rows at once, one row per double lane: lane l adds (double)(x[l][i] * x[l][i]) for i in
// order, the scalar loop's sequence for each row, with the 8 chains side by side (8x8 blocks transposed in
// registers; the last n % 8 elements of each row in scalar code, in order).
void sumsq8_avx512(const float* x, int64_t n, double* out) {
    __m512d sum = _mm512_setzero_pd();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v[8];
        for (int l = 0; l < 8; l++) {
            const __m256 u = _mm256_loadu_ps(x + l * n + i);
            v[l] = _mm256_mul_ps(u, u);
        }
        // 8x8 transpose: t[j] lane l = v[l] lane j
        const __m256 a0 = _mm256_unpacklo_ps(v[0], v[1]), a1 = _mm256_unpackhi_ps(v[0], v[1]);
        const __m256 a2 = _mm256_unpacklo_ps(v[2], v[3]), a3 = _mm256_unpackhi_ps(v[2], v[3]);
        const __m256 a4 = _mm256_unpacklo_ps(v[4], v[5]), a5 = _mm256_unpackhi_ps(v[4], v[5]);
        const __m256 a6 = _mm256_unpacklo_ps(v[6], v[7]), a7 = _mm256_unpackhi_ps(v[6], v[7]);
        const __m256 b0 = _mm256_shuffle_ps(a0, a2, _MM_SHUFFLE(1, 0, 1, 0)), b1 = _mm256_shuffle_ps(a0, a2, _MM_SHUFFLE(3, 2, 3, 2));
        const __m256 b2 = _mm256_shuffle_ps(a1, a3, _MM_SHUFFLE(1, 0, 1, 0)), b3 = _mm256_shuffle_ps(a1, a3, _MM_SHUFFLE(3, 2, 3, 2));
        const __m256 b4 = _mm256_shuffle_ps(a4, a6, _MM_SHUFFLE(1, 0, 1, 0)), b5 = _mm256_shuffle_ps(a4, a6, _MM_SHUFFLE(3, 2, 3, 2));
        const __m256 b6 = _mm256_shuffle_ps(a5, a7, _MM_SHUFFLE(1, 0, 1, 0)), b7 = _mm256_shuffle_ps(a5, a7, _MM_SHUFFLE(3, 2, 3, 2));
        const __m256 t[8] = {_mm256_permute2f128_ps(b0, b4, 0x20), _mm256_permute2f128_ps(b1, b5, 0x20),
                             _mm256_permute2f128_ps(b2, b6, 0x20), _mm256_permute2f128_ps(b3, b7, 0x20),
                             _mm256_permute2f128_ps(b0, b4, 0x31), _mm256_permute2f128_ps(b1, b5, 0x31),
                             _mm256_permute2f128_ps(b2, b6, 0x31), _mm256_permute2f128_ps(b3, b7, 0x31)};
        for (int j = 0; j < 8; j++) sum = _mm512_add_pd(sum, _mm512_cvtps_pd(t[j]));
    }
    _mm512_storeu_pd(out, sum);
    for (int l = 0; l < 8; l++)
        for (int64_t k = i; k < n; k++) out[l] += (double)(x[l * n + k] * x[l * n + k]);
}

// y = a op b elementwise over n values (op: 0 add, 1 mul)
template <int OP>
void binary_avx512(const float* a, const float* b, int64_t n, float* y) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m512 u = _mm512_loadu_ps(a + i), v = _mm512_loadu_ps(b + i);
        _mm512_storeu_ps(y + i, OP == 0 ? _mm512_add_ps(u, v) : _mm512_mul_ps(u, v));
    }
    if (i < n) {
        const __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        const __m512 u = _mm512_maskz_loadu_ps(m, a + i), v = _mm512_maskz_loadu_ps(m, b + i);
        _mm512_mask_storeu_ps(y + i, m, OP == 0 ? _mm512_add_ps(u, v) : _mm512_mul_ps(u, v));
    }
}

// y = silu(g) * u over the full groups of 16 of a row; returns how many values it wrote.
int64_t swiglu_avx512(const float* g, const float* u, int64_t n, float* y) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m512 gv = _mm512_loadu_ps(g + i);
        const __m512 e = exp_ggml_avx512(_mm512_sub_ps(_mm512_setzero_ps(), gv));
        const __m512 silu = _mm512_div_ps(gv, _mm512_add_ps(_mm512_set1_ps(1.0f), e));
        _mm512_storeu_ps(y + i, _mm512_mul_ps(silu, _mm512_loadu_ps(u + i)));
    }
    return i;
}

// Flash-attention pieces over an F16 cache (see fabric_op_attention). The score q.k follows the summation
// order of ggml's AVX-512 build, so scores are bit-identical to llama.cpp's on this kind of CPU: elements
// [0, 64*floor(n/64)) go through four 16-lane accumulators (element i into accumulator (i/16)%4, lane i%16,
// by FMA), which are added as (a0+a2)+(a1+a3) and then across lanes by _mm512_reduce_add_ps; the remaining
// elements are added to that sum in double, in order. Each product of two F16 values is exact in F32.
float dot_f16_ggml_avx512(const uint16_t* a, const uint16_t* b, int64_t n) {
    const int64_t body = n & ~(int64_t)63;
    __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
    for (int64_t i = 0; i < body; i += 64)
        for (int j = 0; j < 4; j++)
            acc[j] = _mm512_fmadd_ps(V16F16::load(a + i + 16 * j), V16F16::load(b + i + 16 * j), acc[j]);
    double sum = body > 0 ? (double)hsum4_avx512(acc) : 0.0;
    for (int64_t i = body; i < n; i++) sum += (double)(f16_to_f32(a[i]) * f16_to_f32(b[i]));
    return (float)sum;
}

void f16_fma_avx512(uint16_t* acc, const uint16_t* v, float s, int64_t n) {
    const __m512 sv = _mm512_set1_ps(s);
    for (int64_t i = 0; i < n; i += 16) {
        const int64_t rest = std::min<int64_t>(16, n - i);
        const __mmask16 m = (__mmask16)((1u << rest) - 1);
        const __m512 r = _mm512_fmadd_ps(V16F16::load_n(v + i, rest), sv, V16F16::load_n(acc + i, rest));
        _mm256_mask_storeu_epi16(acc + i, m, _mm512_cvtps_ph(r, _MM_FROUND_TO_NEAREST_INT));
    }
}

void f16_scale_avx512(uint16_t* acc, float s, int64_t n) {
    const __m512 sv = _mm512_set1_ps(s);
    for (int64_t i = 0; i < n; i += 16) {
        const int64_t rest = std::min<int64_t>(16, n - i);
        const __mmask16 m = (__mmask16)((1u << rest) - 1);
        const __m512 r = _mm512_mul_ps(V16F16::load_n(acc + i, rest), sv);
        _mm256_mask_storeu_epi16(acc + i, m, _mm512_cvtps_ph(r, _MM_FROUND_TO_NEAREST_INT));
    }
}

// One query row of F16-cache flash attention with the F16-rounded V sum held in registers (NV vectors of
// 16 lanes, head_dim <= 16 * NV): rounding to F16 happens in-register, and the score is summed in
// dot_f16_ggml_avx512's order, so the arithmetic is exactly that of the scalar path.
template <int NV>
void fa16_row_avx512(const uint16_t* qh, const uint16_t* kc, const uint16_t* vc, int64_t stride, int64_t visible,
                     int64_t hd, float scale, float* o) {
    const int64_t last = hd - 16 * (NV - 1);
    const int body = (int)(hd / 64) * 4;  // vectors inside ggml's 64-element blocks
    auto ld = [&](const uint16_t* p, int v) { return v == NV - 1 ? V16F16::load_n(p + 16 * v, last) : V16F16::load(p + 16 * v); };
    auto round16 = [](__m512 x) { return _mm512_cvtph_ps(_mm512_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT)); };
    __m512 q[NV], acc[NV];
    for (int v = 0; v < NV; v++) {
        q[v] = ld(qh, v);
        acc[v] = _mm512_setzero_ps();
    }
    alignas(64) float tail[16 * NV];
    float mx = -INFINITY, sum = 0.0f;
    for (int64_t j = 0; j < visible; j++) {
        const uint16_t* kj = kc + j * stride;
        __m512 a[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
        for (int v = 0; v < body; v++) a[v & 3] = _mm512_fmadd_ps(q[v], ld(kj, v), a[v & 3]);
        double d = body > 0 ? (double)hsum4_avx512(a) : 0.0;
        if (body < NV) {
            for (int v = body; v < NV; v++) _mm512_store_ps(tail + 16 * v, _mm512_mul_ps(q[v], ld(kj, v)));  // exact
            for (int64_t i = 16 * body; i < hd; i++) d += (double)tail[i];
        }
        const float sj = (float)d * scale;
        float ms = 1.0f, vs = 1.0f;
        if (sj > mx) {
            ms = expf(mx - sj);
            mx = sj;
            const __m512 m = _mm512_set1_ps(ms);
            for (int v = 0; v < NV; v++) acc[v] = round16(_mm512_mul_ps(acc[v], m));
        } else {
            vs = expf(sj - mx);
        }
        const __m512 sv = _mm512_set1_ps(vs);
        const uint16_t* vj = vc + j * stride;
        for (int v = 0; v < NV; v++) acc[v] = round16(_mm512_fmadd_ps(ld(vj, v), sv, acc[v]));
        sum = fmaf(sum, ms, vs);
    }
    const __m512 inv = _mm512_set1_ps(1.0f / sum);
    for (int v = 0; v < NV; v++) {
        const __m512 r = _mm512_mul_ps(acc[v], inv);
        if (v == NV - 1) _mm512_mask_storeu_ps(o + 16 * v, (__mmask16)((1u << last) - 1), r);
        else _mm512_storeu_ps(o + 16 * v, r);
    }
}

// expf of 16 lanes with the arithmetic of glibc's expf (2.27 and later, built with FMA: the algorithm of
// ARM's optimized-routines): x/ln2 * 32 = k + r, 2^(k/32) from a 32-entry table of 2^(i/32) (bits less
// i << 47, so that adding k << 47 scales by 2^(k >> 5)), 2^(r/32) by a cubic in r, all in double, one rounding
// to float at the end. Lanes with |x| >= 88 (overflow, underflow, -inf, NaN) are left to libm's expf.
// The attention softmax uses it only after expf_vec_agrees() has checked it against this process's libm.
// Entry i is 2^(i/32) rounded to double, with i << 47 subtracted from its bits; computed once in long double
// (64-bit mantissa, then one rounding to double: the correctly rounded values the algorithm tabulates).
struct ExpfTable {
    alignas(64) uint64_t t[32];
    ExpfTable() {
        for (int i = 0; i < 32; i++) {
            const double v = (double)exp2l((long double)i / 32.0L);
            uint64_t bits;
            memcpy(&bits, &v, 8);
            t[i] = bits - ((uint64_t)i << 47);
        }
    }
};

inline __m256 expf8_glibc_avx512(__m256 x) {
    static const ExpfTable tab;
    const __m512i t0 = _mm512_load_si512(tab.t), t1 = _mm512_load_si512(tab.t + 8);
    const __m512i t2 = _mm512_load_si512(tab.t + 16), t3 = _mm512_load_si512(tab.t + 24);
    const __m512d inv_ln2_n = _mm512_set1_pd(0x1.71547652b82fep+5), shift = _mm512_set1_pd(0x1.8p+52);
    const __m512d xd = _mm512_cvtps_pd(x);
    const __m512d z = _mm512_fmadd_pd(inv_ln2_n, xd, shift);
    const __m512i ki = _mm512_castpd_si512(z);
    const __m512d kd = _mm512_sub_pd(z, shift);
    const __m512d r = _mm512_fmsub_pd(inv_ln2_n, xd, kd);
    const __m512i lo = _mm512_permutex2var_epi64(t0, ki, t1), hi = _mm512_permutex2var_epi64(t2, ki, t3);
    const __mmask8 upper = _mm512_test_epi64_mask(ki, _mm512_set1_epi64(16));
    const __m512i t = _mm512_add_epi64(_mm512_mask_blend_epi64(upper, lo, hi), _mm512_slli_epi64(ki, 47));
    const __m512d p = _mm512_fmadd_pd(_mm512_set1_pd(0x1.c6af84b912394p-20), r, _mm512_set1_pd(0x1.ebfce50fac4f3p-13));
    const __m512d r2 = _mm512_mul_pd(r, r);
    const __m512d q = _mm512_fmadd_pd(r, _mm512_set1_pd(0x1.62e42ff0c52d6p-6), _mm512_set1_pd(1.0));
    const __m512d y = _mm512_mul_pd(_mm512_fmadd_pd(p, r2, q), _mm512_castsi512_pd(t));
    return _mm512_cvtpd_ps(y);
}

inline __m512 expf16_glibc_avx512(__m512 x) {
    const __m512 lo = _mm512_castps256_ps512(expf8_glibc_avx512(_mm512_castps512_ps256(x)));
    __m512 e = _mm512_insertf32x8(lo, expf8_glibc_avx512(_mm512_extractf32x8_ps(x, 1)), 1);
    const __mmask16 special = _mm512_cmp_ps_mask(_mm512_abs_ps(x), _mm512_set1_ps(88.0f), _CMP_NLT_UQ);
    if (special) {
        alignas(64) float xs[16], es[16];
        _mm512_store_ps(xs, x);
        _mm512_store_ps(es, e);
        for (int i = 0; i < 16; i++)
            if (special >> i & 1) es[i] = expf(xs[i]);
        e = _mm512_load_ps(es);
    }
    return e;
}

// Whether expf16_glibc_avx512 gives libm's bits here: a sweep of [-104, 0] (the softmax's arguments are never
// positive) through every exponent, plus the ends. Checked once per process.
bool expf_vec_agrees() {
    static const bool ok = [] {
        alignas(64) float xs[16];
        int n = 0;
        auto check = [&]() {
            const __m512 e = expf16_glibc_avx512(_mm512_load_ps(xs));
            alignas(64) float es[16];
            _mm512_store_ps(es, e);
            for (int i = 0; i < 16; i++) {
                const float want = expf(xs[i]);
                if (memcmp(&want, es + i, 4) != 0) return false;
            }
            return true;
        };
        // -0 to -104 in 65536 steps of 17104 ulps: about 550 values in each binade
        for (uint32_t u = 0x80000000u; u <= 0xc2d00000u; u += 17104u) {
            memcpy(xs + n, &u, 4);
            if (++n == 16) {
                if (!check()) return false;
                n = 0;
            }
        }
        const float ends[16] = {-0.0f, 0.0f, -1e-30f, -1e-7f, -0.5f, -1.0f, -87.9f, -88.0f, -88.5f, -103.0f, -103.5f, -104.0f,
                                -INFINITY, -200.0f, -0x1.9fe368p6f, -0x1.9d1d9ep6f};
        memcpy(xs, ends, sizeof(xs));
        return check();
    }();
    return ok;
}

// acc[l] = f16(v_j * w[l][j] + acc[l]) for keys j in [j0, j1), L heads sharing each V row (the V-sum step of
// fa16_row_avx512); the sums stay in registers for the whole run.
template <int NV, int L>
void fa16_vsum_avx512(__m512 (*accp)[NV], const uint16_t* vc, int64_t stride, int64_t j0, int64_t j1, int64_t last,
                      float* const* w) {
    __m512 acc[L][NV];
#pragma GCC unroll 16
    for (int l = 0; l < L; l++)
#pragma GCC unroll 8
        for (int v = 0; v < NV; v++) acc[l][v] = accp[l][v];
    for (int64_t j = j0; j < j1; j++) {
        const uint16_t* vj = vc + j * stride;
        __m512 vv[NV];
#pragma GCC unroll 8
        for (int v = 0; v < NV; v++) vv[v] = v == NV - 1 ? V16F16::load_n(vj + 16 * v, last) : V16F16::load(vj + 16 * v);
#pragma GCC unroll 16
        for (int l = 0; l < L; l++) {
            const __m512 sv = _mm512_set1_ps(w[l][j]);
#pragma GCC unroll 8
            for (int v = 0; v < NV; v++)
                acc[l][v] = _mm512_cvtph_ps(_mm512_cvtps_ph(_mm512_fmadd_ps(vv[v], sv, acc[l][v]), _MM_FROUND_TO_NEAREST_INT));
        }
    }
#pragma GCC unroll 16
    for (int l = 0; l < L; l++)
#pragma GCC unroll 8
        for (int v = 0; v < NV; v++) accp[l][v] = acc[l][v];
}

// fa16_row_avx512's arithmetic for L query heads that read the same KV head (a GQA group) at the same
// position, reorganised in three passes: all scores, then the softmax recurrence (expf, running max, sum),
// then the V sums. Each head's scores, exponentials, roundings and final division are the operations of
// fa16_row_avx512 in the same order; sharing the K/V loads and keeping L independent V-sum chains in flight
// is what makes it faster (the one-row kernel waits on each key's score, expf and F16 rounding in turn).
// A V-sum rescale by exactly 1 is skipped: the sum holds F16 values, which x * 1 and rounding leave as they
// are. scratch: 3 * L * visible floats, rpos: L * visible.
template <int NV, int L>
void fa16_group_avx512(const uint16_t* const* qh, const uint16_t* kc, const uint16_t* vc, int64_t stride,
                       int64_t visible, int64_t hd, float scale, float* const* o, float* scratch, int32_t* rpos) {
    const int64_t last = hd - 16 * (NV - 1);
    const int body = (int)(hd / 64) * 4;
    auto ld = [&](const uint16_t* p, int v) { return v == NV - 1 ? V16F16::load_n(p + 16 * v, last) : V16F16::load(p + 16 * v); };
    auto round16 = [](__m512 x) { return _mm512_cvtph_ps(_mm512_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT)); };
    float* s[L];
    float* ms[L];
    float* rms[L];
    for (int l = 0; l < L; l++) {
        s[l] = scratch + (int64_t)l * 3 * visible;
        ms[l] = s[l] + visible;
        rms[l] = ms[l] + visible;
    }
    // pass 1: scores (into s), in dot_f16_ggml_avx512's order
    __m512 q[L][NV];
#pragma GCC unroll 16
    for (int l = 0; l < L; l++)
#pragma GCC unroll 8
        for (int v = 0; v < NV; v++) q[l][v] = ld(qh[l], v);
    int64_t j = 0;
    if (body == NV) {
        // whole 64-element blocks (head_dim 64, 128): the score is the lane reduction of (a0+a2)+(a1+a3),
        // done for 16 keys at once
        alignas(64) __m512 t[L][16];
        for (; j < visible; j += 16) {
            const int nj = (int)std::min<int64_t>(16, visible - j);
            for (int jj = 0; jj < nj; jj++) {
                const uint16_t* kj = kc + (j + jj) * stride;
                __m512 kv[NV];
#pragma GCC unroll 8
                for (int v = 0; v < NV; v++) kv[v] = V16F16::load(kj + 16 * v);
#pragma GCC unroll 16
                for (int l = 0; l < L; l++) {
                    __m512 a[4];
#pragma GCC unroll 4
                    for (int v = 0; v < 4; v++) a[v] = _mm512_fmadd_ps(q[l][v], kv[v], _mm512_setzero_ps());
#pragma GCC unroll 8
                    for (int v = 4; v < NV; v++) a[v & 3] = _mm512_fmadd_ps(q[l][v], kv[v], a[v & 3]);
                    t[l][jj] = _mm512_add_ps(_mm512_add_ps(a[0], a[2]), _mm512_add_ps(a[1], a[3]));
                }
            }
            const __mmask16 keep = (__mmask16)((1u << nj) - 1);
            for (int l = 0; l < L; l++)
                _mm512_mask_storeu_ps(s[l] + j, keep, _mm512_mul_ps(reduce16_avx512(t[l]), _mm512_set1_ps(scale)));
        }
    }
    alignas(64) float tail[16 * NV];
    for (; j < visible; j++) {
        const uint16_t* kj = kc + j * stride;
        __m512 kv[NV];
        for (int v = 0; v < NV; v++) kv[v] = ld(kj, v);
        for (int l = 0; l < L; l++) {
            __m512 a[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
            for (int v = 0; v < body; v++) a[v & 3] = _mm512_fmadd_ps(q[l][v], kv[v], a[v & 3]);
            double d = body > 0 ? (double)hsum4_avx512(a) : 0.0;
            if (body < NV) {
                for (int v = body; v < NV; v++) _mm512_store_ps(tail + 16 * v, _mm512_mul_ps(q[l][v], kv[v]));
                for (int64_t i = 16 * body; i < hd; i++) d += (double)tail[i];
            }
            s[l][j] = (float)d * scale;
        }
    }
    // pass 2: the online-softmax recurrence; s[j] becomes the V weight vs, and the keys where the running
    // maximum moved (the V sum is rescaled there) are listed in rpos with their factor in ms. With the
    // vector expf: the running maximum before each key first (ms holds it), then both exponentials of the
    // recurrence (expf(mx - sj) where sj raises the maximum, else expf(sj - mx)) 16 keys at a time.
    float sum[L];
    int64_t nres[L];
    const bool vexp = expf_vec_agrees();
    for (int l = 0; l < L; l++) {
        float* sl = s[l];
        float* msl = ms[l];
        int32_t* rp = rpos + (int64_t)l * visible;
        int64_t nr = 0;
        float sm = 0.0f;
        if (vexp) {
            // running maximum before each key: a max-scan over 16 keys at a time (max_ps(newer, older) keeps
            // the older on ties, as "sj > mx" does; NaN scores never raise it, so they enter as -inf)
            __m512 carry = _mm512_set1_ps(-INFINITY);
            const __m512i prev = _mm512_setr_epi32(0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14);
            for (int64_t j = 0; j < visible; j += 16) {
                const __mmask16 in = (__mmask16)(visible - j >= 16 ? 0xffff : (1u << (visible - j)) - 1);
                const __m512 sj = _mm512_mask_loadu_ps(_mm512_set1_ps(-INFINITY), in, sl + j);
                __m512 v = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(sj, sj, _CMP_UNORD_Q), sj, _mm512_set1_ps(-INFINITY));
                const __m512 ninf = _mm512_set1_ps(-INFINITY);
                v = _mm512_max_ps(v, _mm512_mask_permutexvar_ps(ninf, 0xfffe, _mm512_setr_epi32(0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14), v));
                v = _mm512_max_ps(v, _mm512_mask_permutexvar_ps(ninf, 0xfffc, _mm512_setr_epi32(0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13), v));
                v = _mm512_max_ps(v, _mm512_mask_permutexvar_ps(ninf, 0xfff0, _mm512_setr_epi32(0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11), v));
                v = _mm512_max_ps(v, _mm512_mask_permutexvar_ps(ninf, 0xff00, _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7), v));
                v = _mm512_max_ps(v, carry);  // inclusive maximum through each key
                // before key j: the inclusive maximum one key back (the carry for the first)
                const __m512 before = _mm512_mask_permutexvar_ps(carry, 0xfffe, prev, v);
                carry = _mm512_permutexvar_ps(_mm512_set1_epi32(15), v);
                const __mmask16 up = _mm512_mask_cmp_ps_mask(in, sj, before, _CMP_GT_OQ);
                const __m512 e = expf16_glibc_avx512(
                        _mm512_mask_blend_ps(up, _mm512_sub_ps(sj, before), _mm512_sub_ps(before, sj)));
                const __m512 one = _mm512_set1_ps(1.0f);
                _mm512_mask_storeu_ps(sl + j, in, _mm512_mask_blend_ps(up, e, one));
                _mm512_mask_storeu_ps(msl + j, in, _mm512_mask_blend_ps(up, one, e));
                // keys that rescale: where the maximum rose and the factor is not exactly 1
                const __mmask16 res = _mm512_mask_cmp_ps_mask(up, e, one, _CMP_NEQ_UQ);
                _mm512_mask_compressstoreu_epi32(rp + nr, res, _mm512_add_epi32(_mm512_set1_epi32((int32_t)j),
                        _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)));
                _mm512_mask_compressstoreu_ps(rms[l] + nr, res, e);
                nr += __builtin_popcount(res);
            }
        } else {
            float mx = -INFINITY;
            for (int64_t j = 0; j < visible; j++) {
                const float sj = sl[j];
                float m = 1.0f, vs = 1.0f;
                if (sj > mx) {
                    m = expf(mx - sj);
                    mx = sj;
                    if (m != 1.0f) {
                        rp[nr] = (int32_t)j;
                        rms[l][nr++] = m;
                    }
                } else {
                    vs = expf(sj - mx);
                }
                sl[j] = vs;
                sm = fmaf(sm, m, vs);
            }
        }
        sum[l] = sm;
        nres[l] = nr;
    }
    if (vexp) {
        // the denominators, sum = fmaf(sum, ms, vs) key by key, the heads' chains side by side
        for (int l = 0; l < L; l++) sum[l] = 0.0f;
        for (int64_t j = 0; j < visible; j++)
#pragma GCC unroll 16
            for (int l = 0; l < L; l++) sum[l] = fmaf(sum[l], ms[l][j], s[l][j]);
    }
    // pass 3: the F16-rounded V sums, in runs of keys between rescales
    __m512 acc[L][NV];
#pragma GCC unroll 16
    for (int l = 0; l < L; l++)
#pragma GCC unroll 8
        for (int v = 0; v < NV; v++) acc[l][v] = _mm512_setzero_ps();
    int64_t cur[L];
    for (int l = 0; l < L; l++) cur[l] = 0;
    for (int64_t j = 0;;) {
        int64_t next = visible;
        for (int l = 0; l < L; l++)
            if (cur[l] < nres[l]) next = std::min<int64_t>(next, rpos[(int64_t)l * visible + cur[l]]);
        fa16_vsum_avx512<NV, L>(acc, vc, stride, j, next, last, s);
        j = next;
        if (j >= visible) break;
#pragma GCC unroll 16
        for (int l = 0; l < L; l++)
            if (cur[l] < nres[l] && rpos[(int64_t)l * visible + cur[l]] == j) {
                const __m512 m = _mm512_set1_ps(rms[l][cur[l]++]);
#pragma GCC unroll 8
                for (int v = 0; v < NV; v++) acc[l][v] = round16(_mm512_mul_ps(acc[l][v], m));
            }
        fa16_vsum_avx512<NV, L>(acc, vc, stride, j, j + 1, last, s);
        j++;
    }
    for (int l = 0; l < L; l++) {
        const __m512 inv = _mm512_set1_ps(1.0f / sum[l]);
        for (int v = 0; v < NV; v++) {
            const __m512 r = _mm512_mul_ps(acc[l][v], inv);
            if (v == NV - 1) _mm512_mask_storeu_ps(o[l] + 16 * v, (__mmask16)((1u << last) - 1), r);
            else _mm512_storeu_ps(o[l] + 16 * v, r);
        }
    }
}

typedef void (*Fa16Group)(const uint16_t* const*, const uint16_t*, const uint16_t*, int64_t, int64_t, int64_t, float,
                          float* const*, float*, int32_t*);
constexpr int kFaLanes = 2;  // heads per fa16_group_avx512 call (2 x 8 accumulators for head_dim 128)
// lanes: 1 or kFaLanes
Fa16Group fa16_group_for(int64_t hd, int lanes) {
#define FABRIC_G(L) {fa16_group_avx512<1, L>, fa16_group_avx512<2, L>, fa16_group_avx512<3, L>, fa16_group_avx512<4, L>, \
                     fa16_group_avx512<5, L>, fa16_group_avx512<6, L>, fa16_group_avx512<7, L>, fa16_group_avx512<8, L>}
    static const Fa16Group table[2][8] = {FABRIC_G(1), FABRIC_G(2)};
#undef FABRIC_G
    return hd >= 1 && hd <= 128 ? table[lanes - 1][(hd + 15) / 16 - 1] : nullptr;
}

typedef void (*Fa16Row)(const uint16_t*, const uint16_t*, const uint16_t*, int64_t, int64_t, int64_t, float, float*);
Fa16Row fa16_row_for(int64_t hd) {
    static const Fa16Row table[8] = {fa16_row_avx512<1>, fa16_row_avx512<2>, fa16_row_avx512<3>, fa16_row_avx512<4>,
                                     fa16_row_avx512<5>, fa16_row_avx512<6>, fa16_row_avx512<7>, fa16_row_avx512<8>};
    return hd >= 1 && hd <= 128 ? table[(hd + 15) / 16 - 1] : nullptr;
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

template <class VX, class VW, int RX, int CW>
void tile_avx2_fixed(const typename VX::T* x, int64_t ldx, const typename VW::T* w, int64_t ldw, int64_t k,
                     float* y, int64_t ldy) {
    __m256 acc[RX][CW];
    for (int r = 0; r < RX; r++)
        for (int c = 0; c < CW; c++) acc[r][c] = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= k; i += 8) {
        __m256 wv[CW];
        for (int c = 0; c < CW; c++) wv[c] = VW::load(w + c * ldw + i);
        for (int r = 0; r < RX; r++) {
            const __m256 xv = VX::load(x + r * ldx + i);
            for (int c = 0; c < CW; c++) acc[r][c] = _mm256_fmadd_ps(xv, wv[c], acc[r][c]);
        }
    }
    for (int r = 0; r < RX; r++)
        for (int c = 0; c < CW; c++) {
            float t = hsum_avx2(acc[r][c]);
            for (int64_t j = i; j < k; j++) t += VX::get(x + r * ldx, j) * VW::get(w + c * ldw, j);
            y[r * ldy + c] = t;
        }
}

template <class VX, class VW>
void tile_avx2(const void* xv, int64_t ldx, const void* wv, int64_t ldw, int64_t k, int rx, int cw, float* y,
               int64_t ldy) {
    typedef void (*Fixed)(const typename VX::T*, int64_t, const typename VW::T*, int64_t, int64_t, float*, int64_t);
#define FABRIC_T(R) {tile_avx2_fixed<VX, VW, R, 1>, tile_avx2_fixed<VX, VW, R, 2>, \
                     tile_avx2_fixed<VX, VW, R, 3>, tile_avx2_fixed<VX, VW, R, 4>}
    static const Fixed table[kTile][kTile] = {FABRIC_T(1), FABRIC_T(2), FABRIC_T(3), FABRIC_T(4)};
#undef FABRIC_T
    table[rx - 1][cw - 1]((const typename VX::T*)xv, ldx, (const typename VW::T*)wv, ldw, k, y, ldy);
}

// The dense GEMM of prompt processing on AVX2: RX x rows (F32 values) by CW weight rows per register tile, up
// to 4 x 3 (12 accumulators, 3 weight vectors and x from memory: all 16 registers), the tile shape of llama.cpp's
// AVX2 tinyBLAS. Each output keeps one 8-lane accumulator fed in increasing k and ends in hsum_avx2, as
// tile_avx2_fixed and tinyBLAS sum, so results do not depend on the tiling. k runs in blocks (x tile in L1 while
// the weight rows stream past); between blocks the accumulators wait in `park`, which changes no bits.
constexpr int kGemmRows2 = 4, kGemmCols2 = 3;

template <class VW, int RX, int CW>
void gemm_tile_avx2(const float* x, int64_t ldx, const typename VW::T* w, int64_t ldw, int64_t k0, int64_t k1,
                    bool first, bool final, float* park, float* y, int64_t ldy) {
    __m256 acc[RX][CW];
#pragma GCC unroll 4
    for (int r = 0; r < RX; r++)
#pragma GCC unroll 3
        for (int c = 0; c < CW; c++) acc[r][c] = first ? _mm256_setzero_ps() : _mm256_loadu_ps(park + 8 * (r * CW + c));
    for (int64_t i = k0; i < k1; i += 8) {
        __m256 wv[CW];
#pragma GCC unroll 3
        for (int c = 0; c < CW; c++) wv[c] = VW::load(w + c * ldw + i);
#pragma GCC unroll 4
        for (int r = 0; r < RX; r++) {
            const __m256 xv = _mm256_loadu_ps(x + r * ldx + i);
#pragma GCC unroll 3
            for (int c = 0; c < CW; c++) acc[r][c] = _mm256_fmadd_ps(xv, wv[c], acc[r][c]);
        }
    }
    if (!final) {
#pragma GCC unroll 4
        for (int r = 0; r < RX; r++)
#pragma GCC unroll 3
            for (int c = 0; c < CW; c++) _mm256_storeu_ps(park + 8 * (r * CW + c), acc[r][c]);
        return;
    }
#pragma GCC unroll 4
    for (int r = 0; r < RX; r++)
#pragma GCC unroll 3
        for (int c = 0; c < CW; c++) y[r * ldy + c] = hsum_avx2(acc[r][c]);
}

// y[m, n] (m >= 2, k % 8 == 0) for one task: x rows [x0, x1) by weight rows [w0, w1); a last column tile of 1
// or 2 weight rows where (w1 - w0) % 3 != 0.
template <class VW>
void gemm_block_avx2(const float* x, const typename VW::T* w, int64_t k, int64_t n, int64_t x0, int64_t x1,
                     int64_t w0, int64_t w1, float* y) {
    typedef void (*Tile)(const float*, int64_t, const typename VW::T*, int64_t, int64_t, int64_t, bool, bool, float*,
                         float*, int64_t);
#define FABRIC_T(R) {gemm_tile_avx2<VW, R, 1>, gemm_tile_avx2<VW, R, 2>, gemm_tile_avx2<VW, R, 3>}
    static const Tile tiles[kGemmRows2][kGemmCols2] = {FABRIC_T(1), FABRIC_T(2), FABRIC_T(3), FABRIC_T(4)};
#undef FABRIC_T
    constexpr int64_t kc = 512;  // k block: 4 x rows of it are 8 KiB, a quarter of L1
    const int64_t n_ct = (w1 - w0 + kGemmCols2 - 1) / kGemmCols2;
    constexpr int64_t tile_floats = kGemmRows2 * kGemmCols2 * 8;
    static thread_local std::vector<float> park;
    if (k > kc && (int64_t)park.size() < n_ct * tile_floats) park.resize((size_t)(n_ct * tile_floats));
    for (int64_t r = x0; r < x1; r += kGemmRows2) {
        const int rx = (int)std::min<int64_t>(kGemmRows2, x1 - r);
        for (int64_t kb = 0; kb < k; kb += kc) {
            const int64_t ke = std::min(k, kb + kc);
            for (int64_t ct = 0; ct < n_ct; ct++) {
                const int64_t c = w0 + kGemmCols2 * ct;
                const int cw = (int)std::min<int64_t>(kGemmCols2, w1 - c);
                tiles[rx - 1][cw - 1](x + r * k, k, w + c * k, k, kb, ke, kb == 0, ke == k,
                                      k > kc ? park.data() + ct * tile_floats : nullptr, y + r * n + c, n);
            }
        }
    }
}

template <class VW>
void gemm_block_avx2_v(const float* x, const void* w, int64_t k, int64_t n, int64_t x0, int64_t x1, int64_t w0,
                       int64_t w1, float* y) {
    gemm_block_avx2<VW>(x, (const typename VW::T*)w, k, n, x0, x1, w0, w1, y);
}

// One x row against 8 weight rows (generation), prefetching the next eight rows as row8_avx512 does; each output
// keeps its own accumulator and reduction, so results match tile_avx2_fixed's.
template <class VW>
void row8_avx2(const float* x, const void* wp, int64_t ldw, int64_t k, float* y) {
    const typename VW::T* w = (const typename VW::T*)wp;
    __m256 acc[8];
    for (int c = 0; c < 8; c++) acc[c] = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= k; i += 8) {
        const __m256 xv = _mm256_loadu_ps(x + i);
        if ((i * (int64_t)sizeof(typename VW::T)) % 64 == 0)
            for (int c = 0; c < 8; c++) _mm_prefetch((const char*)(w + (c + 8) * ldw + i), _MM_HINT_T0);
        for (int c = 0; c < 8; c++) acc[c] = _mm256_fmadd_ps(xv, VW::load(w + c * ldw + i), acc[c]);
    }
    for (int c = 0; c < 8; c++) {
        float t = hsum_avx2(acc[c]);
        for (int64_t j = i; j < k; j++) t += x[j] * VW::get(w + c * ldw, j);
        y[c] = t;
    }
}

// e^x for 8 lanes as ggml's AVX2 build computes it (same reduction as exp_ggml_avx512: n = round(x / ln2) by the
// 1.5 * 2^23 shift, ln2 in two parts, a degree-5 polynomial in b), but without vscalefps: the polynomial less its
// constant term, p, is combined with k = 2^n (built in the exponent bits) as k + p * k in one FMA, which rounds
// differently from AVX-512's 2^n * (1 + p). Lanes with |n| > 126 (|x| > ~87, where k would not be a normal
// float) take libm's expf instead; silu and softmax then see 0, a subnormal or inf either way.
inline __m256 exp_ggml_avx2(__m256 x) {
    const __m256 shift = _mm256_set1_ps(0x1.8p23f);
    const __m256 z = _mm256_fmadd_ps(x, _mm256_set1_ps(0x1.715476p+0f), shift);
    const __m256 n = _mm256_sub_ps(z, shift);
    const __m256 b = _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.7f7d1cp-20f),
                                      _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.62e4p-1f), x));
    // z's low mantissa bits hold n; shifted into the exponent field and added to 1.0f's bits: 2^n
    const __m256 k = _mm256_castsi256_ps(
        _mm256_add_epi32(_mm256_slli_epi32(_mm256_castps_si256(z), 23), _mm256_castps_si256(_mm256_set1_ps(1.0f))));
    const __m256 b2 = _mm256_mul_ps(b, b);
    const __m256 p = _mm256_fmadd_ps(
        _mm256_fmadd_ps(_mm256_fmadd_ps(_mm256_set1_ps(0x1.0e4020p-7f), b, _mm256_set1_ps(0x1.573e2ep-5f)), b2,
                        _mm256_fmadd_ps(_mm256_set1_ps(0x1.555e66p-3f), b, _mm256_set1_ps(0x1.fffdb6p-2f))),
        b2, _mm256_mul_ps(_mm256_set1_ps(0x1.ffffecp-1f), b));
    const __m256 r = _mm256_fmadd_ps(p, k, k);
    const __m256 far = _mm256_cmp_ps(_mm256_andnot_ps(_mm256_set1_ps(-0.0f), n), _mm256_set1_ps(126.0f), _CMP_GT_OQ);
    const int mask = _mm256_movemask_ps(far);
    if (!mask) return r;
    alignas(32) float xs[8], rs[8];
    _mm256_store_ps(xs, x);
    _mm256_store_ps(rs, r);
    for (int l = 0; l < 8; l++)
        if (mask & (1 << l)) rs[l] = expf(xs[l]);
    return _mm256_load_ps(rs);
}

// y = silu(g) * u over the full groups of 8 of a row; returns how many values it wrote.
int64_t swiglu_avx2(const float* g, const float* u, int64_t n, float* y) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 gv = _mm256_loadu_ps(g + i);
        const __m256 e = exp_ggml_avx2(_mm256_sub_ps(_mm256_setzero_ps(), gv));
        const __m256 silu = _mm256_div_ps(gv, _mm256_add_ps(_mm256_set1_ps(1.0f), e));
        _mm256_storeu_ps(y + i, _mm256_mul_ps(silu, _mm256_loadu_ps(u + i)));
    }
    return i;
}

// NEOX rope over the full groups of 8 pairs; the roundings of rope_neox_avx512 and the scalar loop.
int64_t rope_neox_avx2(const float* x, const float* cs, int64_t half, float* y) {
    int64_t i = 0;
    for (; i + 8 <= half; i += 8) {
        const __m256 x0 = _mm256_loadu_ps(x + i), x1 = _mm256_loadu_ps(x + half + i);
        const __m256 c = _mm256_loadu_ps(cs + i), s = _mm256_loadu_ps(cs + half + i);
        _mm256_storeu_ps(y + i, _mm256_fmsub_ps(x0, c, _mm256_mul_ps(x1, s)));
        _mm256_storeu_ps(y + half + i, _mm256_fmadd_ps(x0, s, _mm256_mul_ps(x1, c)));
    }
    return i;
}

// Sums of squares of 4 rows at once, one row per double lane, each in the scalar loop's order (the float
// square widened, added in increasing i): sumsq8_avx512's scheme with 4x4 transposes.
void sumsq4_avx2(const float* x, int64_t n, double* out) {
    __m256d sum = _mm256_setzero_pd();
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        __m128 v[4];
        for (int l = 0; l < 4; l++) {
            const __m128 u = _mm_loadu_ps(x + l * n + i);
            v[l] = _mm_mul_ps(u, u);
        }
        _MM_TRANSPOSE4_PS(v[0], v[1], v[2], v[3]);  // v[j] lane l = row l's element i + j
        for (int j = 0; j < 4; j++) sum = _mm256_add_pd(sum, _mm256_cvtps_pd(v[j]));
    }
    _mm256_storeu_pd(out, sum);
    for (int l = 0; l < 4; l++)
        for (int64_t k = i; k < n; k++) out[l] += (double)(x[l * n + k] * x[l * n + k]);
}

// y = a op b elementwise over n values (op: 0 add, 1 mul)
template <int OP>
void binary_avx2(const float* a, const float* b, int64_t n, float* y) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 u = _mm256_loadu_ps(a + i), v = _mm256_loadu_ps(b + i);
        _mm256_storeu_ps(y + i, OP == 0 ? _mm256_add_ps(u, v) : _mm256_mul_ps(u, v));
    }
    for (; i < n; i++) y[i] = OP == 0 ? a[i] + b[i] : a[i] * b[i];
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

// ggml's AVX2 build sums an F16 dot product in blocks of 32: four 8-lane FMA accumulators added as
// (a0+a2)+(a1+a3), then the two 128-bit halves, then two horizontal adds; the rest in double, in order.
float dot_f16_ggml_avx2(const uint16_t* a, const uint16_t* b, int64_t n) {
    const int64_t body = n & ~(int64_t)31;
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    for (int64_t i = 0; i < body; i += 32)
        for (int j = 0; j < 4; j++)
            acc[j] = _mm256_fmadd_ps(V8F16::load(a + i + 8 * j), V8F16::load(b + i + 8 * j), acc[j]);
    double sum = 0.0;
    if (body > 0) {
        const __m256 r = _mm256_add_ps(_mm256_add_ps(acc[0], acc[2]), _mm256_add_ps(acc[1], acc[3]));
        const __m128 t0 = _mm_add_ps(_mm256_castps256_ps128(r), _mm256_extractf128_ps(r, 1));
        const __m128 t1 = _mm_hadd_ps(t0, t0);
        sum = (double)_mm_cvtss_f32(_mm_hadd_ps(t1, t1));
    }
    for (int64_t i = body; i < n; i++) sum += (double)(f16_to_f32(a[i]) * f16_to_f32(b[i]));
    return (float)sum;
}

void f16_fma_avx2(uint16_t* acc, const uint16_t* v, float s, int64_t n) {
    const __m256 sv = _mm256_set1_ps(s);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 r = _mm256_fmadd_ps(V8F16::load(v + i), sv, V8F16::load(acc + i));
        _mm_storeu_si128((__m128i*)(acc + i), _mm256_cvtps_ph(r, _MM_FROUND_TO_NEAREST_INT));
    }
    for (; i < n; i++) acc[i] = f32_to_f16(fmaf(f16_to_f32(v[i]), s, f16_to_f32(acc[i])));
}

void f16_scale_avx2(uint16_t* acc, float s, int64_t n) {
    const __m256 sv = _mm256_set1_ps(s);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 r = _mm256_mul_ps(V8F16::load(acc + i), sv);
        _mm_storeu_si128((__m128i*)(acc + i), _mm256_cvtps_ph(r, _MM_FROUND_TO_NEAREST_INT));
    }
    for (; i < n; i++) acc[i] = f32_to_f16(f16_to_f32(acc[i]) * s);
}

// F16-cache flash attention on AVX2 for L query heads of one GQA group at one position (head_dim a multiple of
// 32, up to kFa2MaxDim): the arithmetic of the row path with the AVX2 pieces (scores in dot_f16_ggml_avx2's
// order, libm expf in the online-softmax recurrence, V sums rounded to F16 after every update as f16_fma_avx2 and
// f16_scale_avx2 do, a rescale by exactly 1 skipped since the sums hold F16 values), in three passes as
// fa16_group_avx512: all scores, the recurrence, then the V sums 32 dimensions at a time with the L heads' chains
// side by side in registers. scratch: 3 * L * visible + L * head_dim floats, rpos: L * visible.
constexpr int64_t kFa2MaxDim = 256;

template <int L>
void fa16_group_avx2(const uint16_t* const* qh, const uint16_t* kc, const uint16_t* vc, int64_t stride,
                     int64_t visible, int64_t hd, float scale, float* const* o, float* scratch, int32_t* rpos) {
    auto round16 = [](__m256 x) { return _mm256_cvtph_ps(_mm256_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT)); };
    float* s[L];
    float* rms[L];
    float* acc[L];
    for (int l = 0; l < L; l++) {
        s[l] = scratch + (int64_t)l * 3 * visible;
        rms[l] = s[l] + visible;
        acc[l] = scratch + (int64_t)L * 3 * visible + (int64_t)l * hd;
    }
    // pass 1: scores; per 32-element block four 8-lane FMA accumulators, then (a0+a2)+(a1+a3), the halves,
    // two horizontal adds (dot_f16_ggml_avx2)
    alignas(32) float q[L][kFa2MaxDim];
    for (int l = 0; l < L; l++)
        for (int64_t i = 0; i < hd; i += 8) _mm256_store_ps(q[l] + i, V8F16::load(qh[l] + i));
    for (int64_t j = 0; j < visible; j++) {
        const uint16_t* kj = kc + j * stride;
        __m256 a[L][4];
        for (int l = 0; l < L; l++)
            for (int v = 0; v < 4; v++) a[l][v] = _mm256_setzero_ps();
        for (int64_t i = 0; i < hd; i += 32)
            for (int v = 0; v < 4; v++) {
                const __m256 kv = V8F16::load(kj + i + 8 * v);
                for (int l = 0; l < L; l++) a[l][v] = _mm256_fmadd_ps(_mm256_load_ps(q[l] + i + 8 * v), kv, a[l][v]);
            }
        for (int l = 0; l < L; l++) {
            const __m256 r = _mm256_add_ps(_mm256_add_ps(a[l][0], a[l][2]), _mm256_add_ps(a[l][1], a[l][3]));
            const __m128 t0 = _mm_add_ps(_mm256_castps256_ps128(r), _mm256_extractf128_ps(r, 1));
            const __m128 t1 = _mm_hadd_ps(t0, t0);
            s[l][j] = (float)(double)_mm_cvtss_f32(_mm_hadd_ps(t1, t1)) * scale;
        }
    }
    // pass 2: the recurrence of the row path; s[j] becomes the V weight, rescales are listed in rpos / rms
    float sum[L];
    int64_t nres[L];
    for (int l = 0; l < L; l++) {
        float* sl = s[l];
        int32_t* rp = rpos + (int64_t)l * visible;
        int64_t nr = 0;
        float mx = -INFINITY, sm = 0.0f;
        for (int64_t j = 0; j < visible; j++) {
            const float sj = sl[j];
            float m = 1.0f, vs = 1.0f;
            if (sj > mx) {
                m = expf(mx - sj);
                mx = sj;
                if (m != 1.0f) {
                    rp[nr] = (int32_t)j;
                    rms[l][nr++] = m;
                }
            } else {
                vs = expf(sj - mx);
            }
            sl[j] = vs;
            sm = fmaf(sm, m, vs);
        }
        sum[l] = sm;
        nres[l] = nr;
        for (int64_t i = 0; i < hd; i++) acc[l][i] = 0.0f;
    }
    // pass 3: V sums in runs of keys between rescales, 32 dimensions (4 x L accumulators) at a time
    auto vsum = [&](int64_t j0, int64_t j1) {
        for (int64_t i = 0; i < hd; i += 32) {
            __m256 av[L][4];
            for (int l = 0; l < L; l++)
                for (int v = 0; v < 4; v++) av[l][v] = _mm256_loadu_ps(acc[l] + i + 8 * v);
            for (int64_t j = j0; j < j1; j++) {
                const uint16_t* vj = vc + j * stride + i;
                __m256 vv[4];
                for (int v = 0; v < 4; v++) vv[v] = V8F16::load(vj + 8 * v);
                for (int l = 0; l < L; l++) {
                    const __m256 w = _mm256_set1_ps(s[l][j]);
                    for (int v = 0; v < 4; v++) av[l][v] = round16(_mm256_fmadd_ps(vv[v], w, av[l][v]));
                }
            }
            for (int l = 0; l < L; l++)
                for (int v = 0; v < 4; v++) _mm256_storeu_ps(acc[l] + i + 8 * v, av[l][v]);
        }
    };
    int64_t cur[L];
    for (int l = 0; l < L; l++) cur[l] = 0;
    for (int64_t j = 0;;) {
        int64_t next = visible;
        for (int l = 0; l < L; l++)
            if (cur[l] < nres[l]) next = std::min<int64_t>(next, rpos[(int64_t)l * visible + cur[l]]);
        vsum(j, next);
        j = next;
        if (j >= visible) break;
        for (int l = 0; l < L; l++)
            if (cur[l] < nres[l] && rpos[(int64_t)l * visible + cur[l]] == j) {
                const __m256 m = _mm256_set1_ps(rms[l][cur[l]++]);
                for (int64_t i = 0; i < hd; i += 8)
                    _mm256_storeu_ps(acc[l] + i, round16(_mm256_mul_ps(_mm256_loadu_ps(acc[l] + i), m)));
            }
        vsum(j, j + 1);
        j++;
    }
    for (int l = 0; l < L; l++) {
        const __m256 inv = _mm256_set1_ps(1.0f / sum[l]);
        for (int64_t i = 0; i < hd; i += 8) _mm256_storeu_ps(o[l] + i, _mm256_mul_ps(_mm256_loadu_ps(acc[l] + i), inv));
    }
}

#pragma GCC pop_options
#endif

typedef void (*Row8Fn)(const float* x, const void* w, int64_t ldw, int64_t k, float* y);

// The kernel of a dense weight type among one per type (F32, F16, BF16); null for other types.
template <class Fn>
Fn by_dense_type(int32_t type, Fn f32, Fn f16, Fn bf16) {
    return type == FABRIC_TYPE_F32 ? f32 : type == FABRIC_TYPE_F16 ? f16 : type == FABRIC_TYPE_BF16 ? bf16 : nullptr;
}

// The 8-row matvec for simd variants that take x as F32, or null.
Row8Fn row8_for(int32_t type) {
#if FABRIC_X86
    if (has_avx512()) return by_dense_type<Row8Fn>(type, row8_avx512<V16F32>, row8_avx512<V16F16>, row8_avx512<V16BF16>);
    if (has_avx2()) return by_dense_type<Row8Fn>(type, row8_avx2<V8F32>, row8_avx2<V8F16>, row8_avx2<V8BF16>);
#endif
    (void)type;
    return nullptr;
}

#if FABRIC_NEON
#include "fabric_ops_neon.inc"
#endif

TileFn tile_for(int32_t type) {
#if FABRIC_NEON
    if (has_neon()) return by_dense_type<TileFn>(type, tile_neon<N4F32>, tile_neon<N4F16>, tile_neon<N4BF16>);
#endif
#if FABRIC_X86
    if (has_avx512())
        return by_dense_type<TileFn>(type, tile_avx512<V16F32, V16F32>, tile_avx512<V16F32, V16F16>,
                                     tile_avx512<V16F32, V16BF16>);
    if (has_avx2())
        return by_dense_type<TileFn>(type, tile_avx2<V8F32, V8F32>, tile_avx2<V8F32, V8F16>, tile_avx2<V8F32, V8BF16>);
#endif
    return by_dense_type<TileFn>(type, tile_generic<TF32>, tile_generic<TF16>, tile_generic<TBF16>);
}

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


// q.k of two F16 rows in the order of ggml's build for this CPU (see dot_f16_ggml_avx512); without SIMD,
// ggml sums the exact products in double, in order.
float dot_f16_ggml(const uint16_t* a, const uint16_t* b, int64_t n) {
#if FABRIC_X86
    if (has_avx512()) return dot_f16_ggml_avx512(a, b, n);
    if (has_avx2()) return dot_f16_ggml_avx2(a, b, n);
#endif
    double acc = 0.0;
    for (int64_t i = 0; i < n; i++) acc += (double)(f16_to_f32(a[i]) * f16_to_f32(b[i]));
    return (float)acc;
}

// acc = f16(v * s + acc), one rounding of the fused product-sum per element
void f16_fma(uint16_t* acc, const uint16_t* v, float s, int64_t n) {
#if FABRIC_X86
    if (has_avx512()) {
        f16_fma_avx512(acc, v, s, n);
        return;
    }
    if (has_avx2()) {
        f16_fma_avx2(acc, v, s, n);
        return;
    }
#endif
    for (int64_t i = 0; i < n; i++) acc[i] = f32_to_f16(fmaf(f16_to_f32(v[i]), s, f16_to_f32(acc[i])));
}

void f16_scale(uint16_t* acc, float s, int64_t n) {
#if FABRIC_X86
    if (has_avx512()) {
        f16_scale_avx512(acc, s, n);
        return;
    }
    if (has_avx2()) {
        f16_scale_avx2(acc, s, n);
        return;
    }
#endif
    for (int64_t i = 0; i < n; i++) acc[i] = f32_to_f16(f16_to_f32(acc[i]) * s);
}
}  // namespace

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

int64_t fabric_op_get_rows(int32_t type, const void* table, int64_t n_rows, int64_t row_len, const int32_t* ids,
                           int64_t n_ids, float* out, int32_t threads) {
    for (int64_t i = 0; i < n_ids; i++)
        if (ids[i] < 0 || ids[i] >= n_rows) return i;
    const int64_t rb = fabric_row_bytes(type, row_len);
    parallel_for(n_ids, std::max<int64_t>(1, kGrain / std::max<int64_t>(row_len, 1)), threads,
                 [&](int64_t b, int64_t e) {
                     for (int64_t i = b; i < e; i++)
                         convert_row(type, (const char*)table + ids[i] * rb, row_len, out + i * row_len);
                 });
    return -1;
}

// Weight rows per task of a quantized matmul. With one block of x rows (generation) the op is a stream over
// the weights: a few long contiguous runs per thread let each core's prefetcher run ahead and keep the
// threads on disjoint cache lines of y (16-row tasks taken in turn interleave the two streams line by line).
static int64_t matvec_rows_per_task(int64_t n, int64_t m, int64_t xb, int threads) {
    if (m > xb || threads == 1) return 16;
    const int64_t t = threads > 0 ? threads : (int64_t)std::max(1u, std::thread::hardware_concurrency());
    const int64_t per = (n + 4 * t - 1) / (4 * t);
    return std::max<int64_t>(16, (per + 15) / 16 * 16);
}

void fabric_op_matmul(int32_t wtype, const void* w, int64_t n, int64_t k, const float* x, int64_t m, float* y,
                      int32_t threads) {
    if (n <= 0 || m <= 0) return;
    if (is_kquant_q8k(wtype)) {
        // x to Q8_K once, then one integer dot per output (tasks as for Q8_0 below)
        const int64_t nb = k / QKK, wrb = fabric_row_bytes(wtype, k);
        const DotQ8KFn dot1 = dot_q8k_for<1>(wtype), dotn = dot_q8k_for<kRowsQ8K>(wtype);
        std::vector<BlockQ8K> xq((size_t)(m * nb));
#if FABRIC_X86
        const bool gemm = m >= kGemmMinRows && kq_gemm_available();
        std::vector<int16_t> xs(gemm && wtype != FABRIC_TYPE_Q6_K ? (size_t)(m * nb * 8) : 0);
#endif
        parallel_for(m, 16, threads, [&](int64_t r0, int64_t r1) {
            for (int64_t r = r0; r < r1; r++) {
                quantize_rows_q8_K(x + r * k, k, xq.data() + r * nb);
#if FABRIC_X86
                if (!xs.empty()) kq_gemm::sub_sums32(xq.data() + r * nb, nb, xs.data() + r * nb * 8);
#endif
            }
        });
#if FABRIC_X86
        if (gemm) {
            // panels of 16 weight rows, kq_gemm::kGemmPanels per task, each against every x row
            const int64_t n_p = (n + 15) / 16, per = kq_gemm::kGemmPanels;
            parallel_for((n_p + per - 1) / per, 1, threads, [&](int64_t t0, int64_t t1) {
                for (int64_t t = t0; t < t1; t++)
                    kq_gemm::gemm_tasks(wtype, w, n, nb, xq.data(), xs.data(), m, y, t * per,
                                        std::min(n_p, (t + 1) * per));
            });
            return;
        }
#endif
        const int64_t xb = 64, wb = matvec_rows_per_task(n, m, xb, threads), n_wb = (n + wb - 1) / wb,
                      n_xb = (m + xb - 1) / xb;
        parallel_for(n_wb * n_xb, 1, threads, [&](int64_t t0, int64_t t1) {
            for (int64_t t = t0; t < t1; t++) {
                const int64_t w0 = (t % n_wb) * wb, w1 = std::min(n, w0 + wb);
                const int64_t x0 = (t / n_wb) * xb, x1 = std::min(m, x0 + xb);
                for (int64_t c = w0; c < w1; c++) {
                    const void* wr = (const char*)w + c * wrb;
                    int64_t r = x0;
                    for (; r + kRowsQ8K <= x1; r += kRowsQ8K) {
                        const BlockQ8K* ys[kRowsQ8K];
                        float o[kRowsQ8K];
                        for (int i = 0; i < kRowsQ8K; i++) ys[i] = xq.data() + (r + i) * nb;
                        dotn(wr, ys, nb, o);
                        for (int i = 0; i < kRowsQ8K; i++) y[(r + i) * n + c] = o[i];
                    }
                    for (; r < x1; r++) {
                        const BlockQ8K* ys = xq.data() + r * nb;
                        dot1(wr, &ys, nb, y + r * n + c);
                    }
                }
            }
        });
        return;
    }
    if (is_dequant_only(wtype)) {
        // dequantize a block of w rows to F32 per task, then F32 dots against every x row
        const int64_t wrb = fabric_row_bytes(wtype, k), wb = 16, n_wb = (n + wb - 1) / wb;
        parallel_for(n_wb, 1, threads, [&](int64_t t0, int64_t t1) {
            std::vector<float> wf((size_t)(wb * k));
            for (int64_t t = t0; t < t1; t++) {
                const int64_t w0 = t * wb, w1 = std::min(n, w0 + wb);
                for (int64_t c = w0; c < w1; c++) convert_row(wtype, (const char*)w + c * wrb, k, wf.data() + (c - w0) * k);
                for (int64_t r = 0; r < m; r++)
                    for (int64_t c = w0; c < w1; c++) y[r * n + c] = dot_f32(wf.data() + (c - w0) * k, x + r * k, k);
            }
        });
        return;
    }
    if (is_quantized(wtype)) {
        // x to Q8_0 once, then one dot per output; tasks are blocks of w rows by blocks of x rows
        const int64_t nb = k / QK, wrb = fabric_row_bytes(wtype, k);
        std::vector<BlockQ8_0> xq((size_t)(m * nb));
        parallel_for(m, 16, threads, [&](int64_t r0, int64_t r1) {
            for (int64_t r = r0; r < r1; r++) quantize_row_q8_0(x + r * k, k, xq.data() + r * nb);
        });
        const int64_t xb = 64, wb = matvec_rows_per_task(n, m, xb, threads), n_wb = (n + wb - 1) / wb,
                      n_xb = (m + xb - 1) / xb;
        parallel_for(n_wb * n_xb, 1, threads, [&](int64_t t0, int64_t t1) {
            for (int64_t t = t0; t < t1; t++) {
                const int64_t w0 = (t % n_wb) * wb, w1 = std::min(n, w0 + wb);
                const int64_t x0 = (t / n_wb) * xb, x1 = std::min(m, x0 + xb);
                for (int64_t r = x0; r < x1; r++)
                    for (int64_t c = w0; c < w1; c++)
                        y[r * n + c] = dot_quant_q8_0(wtype, (const char*)w + c * wrb, xq.data() + r * nb, k);
            }
        });
        return;
    }
    const TileFn tile = tile_for(wtype);
    if (!tile) abort();
    // x in the weight's dot type (ggml's vec_dot_type: F16 for F16, BF16 for BF16, F32 for F32); the
    // AVX-512 tiles take it back as F32 (the same values), the generic ones in the dot type itself
    std::vector<uint16_t> xh;
    std::vector<float> xr;
    const void* xd = x;
    const bool simd = variant() != V_GENERIC;
#if FABRIC_X86
    if (wtype == FABRIC_TYPE_F16 && has_avx512()) {
        // one pass, into a buffer kept by the calling thread (a fresh one per call costs page faults); only
        // batches up to 16 MiB are kept
        static thread_local std::vector<float> keep;
        const bool big = m * k > (int64_t)4 << 20;
        if (big) xr.resize((size_t)(m * k));
        else if ((int64_t)keep.size() < m * k) keep.resize((size_t)(m * k));
        float* xf = big ? xr.data() : keep.data();
        parallel_for(m * k, kGrain, threads, [&](int64_t b, int64_t e) { round_f16_avx512(x + b, e - b, xf + b); });
        xd = xf;
    } else
#endif
    if (wtype != FABRIC_TYPE_F32) {
        xh.resize((size_t)(m * k));
        fabric_convert_f32(x, m * k, wtype, xh.data(), threads);
        xd = xh.data();
        if (simd) {
            xr.resize((size_t)(m * k));
            parallel_for(m * k, kGrain, threads, [&](int64_t b, int64_t e) {
                convert_row(wtype, xh.data() + b, e - b, xr.data() + b);
            });
            xd = xr.data();
        }
    }
    const int64_t wsz = wtype == FABRIC_TYPE_F32 ? 4 : 2, esz = simd ? 4 : wsz;
    // Task = a block of w rows (kept hot in L1/L2 while all x rows of the block stream past) by a block of
    // x rows. Small m (token generation) splits over w rows only, in long runs (matvec_rows_per_task).
    const int64_t xb = 64, wb = matvec_rows_per_task(n, m, xb, threads);
    const int64_t n_wb = (n + wb - 1) / wb, n_xb = (m + xb - 1) / xb;
    // llama.cpp's AVX-512 build tiles only when k % 16 == 0, n % 4 == 0 and there are 2+ rows of x; otherwise
    // its vec_dot sums in another order, which we follow for the same bits (generation keeps the faster
    // 8-row kernel: one token's logits then differ from llama.cpp's in the last bits).
    VecDotFn vecdot = nullptr;
#if FABRIC_X86
    if (has_avx512() && m >= 2 && !(k % 16 == 0 && n % 4 == 0)) {
        if (wtype == FABRIC_TYPE_F32) vecdot = vecdot_ggml_avx512_v<V16F32>;
        if (wtype == FABRIC_TYPE_F16) vecdot = vecdot_ggml_avx512_v<V16F16>;
    }
#endif
    if (vecdot) {
        parallel_for(n_wb * n_xb, 1, threads, [&](int64_t t0, int64_t t1) {
            for (int64_t t = t0; t < t1; t++) {
                const int64_t w0 = (t % n_wb) * wb, w1 = std::min(n, w0 + wb);
                const int64_t x0 = (t / n_wb) * xb, x1 = std::min(m, x0 + xb);
                for (int64_t r = x0; r < x1; r++)
                    for (int64_t c = w0; c < w1; c++)
                        y[r * n + c] = vecdot((const float*)xd + r * k, (const char*)w + c * k * wsz, k);
            }
        });
        return;
    }
#if FABRIC_X86
    if (has_avx512() && m >= 2 && k % 16 == 0 && n % 4 == 0) {
        // Task = 48 x rows by 64 weight rows (128 KiB of F16 for k = 1024, kept in L2 and re-read once per 6 x
        // rows; each 6 x rows stay in L1 while the 64 weight rows stream past).
        GemmBlockFn gemm = wtype == FABRIC_TYPE_F32    ? gemm_block_avx512_v<V16F32>
                           : wtype == FABRIC_TYPE_F16  ? gemm_block_avx512_v<V16F16>
                                                       : gemm_block_avx512_v<V16BF16>;
        const int64_t gxb = 8 * kGemmRows, gwb = 64;
        const int64_t g_nwb = (n + gwb - 1) / gwb, g_nxb = (m + gxb - 1) / gxb;
        parallel_for(g_nwb * g_nxb, 1, threads, [&](int64_t t0, int64_t t1) {
            for (int64_t t = t0; t < t1; t++) {
                const int64_t w0 = (t % g_nwb) * gwb, w1 = std::min(n, w0 + gwb);
                const int64_t x0 = (t / g_nwb) * gxb, x1 = std::min(m, x0 + gxb);
                gemm((const float*)xd, w, k, n, x0, x1, w0, w1, y);
            }
        });
        return;
    }
    if (has_avx2() && m >= 2 && k % 8 == 0) {
        // Task = 32 x rows by 48 weight rows (96 KiB of F16 for k = 1024, kept in L2 and re-read once per 4 x rows)
        GemmBlockFn gemm = by_dense_type<GemmBlockFn>(wtype, gemm_block_avx2_v<V8F32>, gemm_block_avx2_v<V8F16>,
                                                      gemm_block_avx2_v<V8BF16>);
        const int64_t gxb = 8 * kGemmRows2, gwb = 16 * kGemmCols2;
        const int64_t g_nwb = (n + gwb - 1) / gwb, g_nxb = (m + gxb - 1) / gxb;
        parallel_for(g_nwb * g_nxb, 1, threads, [&](int64_t t0, int64_t t1) {
            for (int64_t t = t0; t < t1; t++) {
                const int64_t w0 = (t % g_nwb) * gwb, w1 = std::min(n, w0 + gwb);
                const int64_t x0 = (t / g_nwb) * gxb, x1 = std::min(m, x0 + gxb);
                gemm((const float*)xd, w, k, n, x0, x1, w0, w1, y);
            }
        });
        return;
    }
#endif
    struct Ctx {
        TileFn tile;
        Row8Fn row8;
        const char *x, *w;
        int64_t n, k, m, esz, wsz, wb, xb, n_wb;
        float* y;
    } ctx{tile, simd ? row8_for(wtype) : nullptr, (const char*)xd, (const char*)w, n, k, m, esz, wsz, wb, xb, n_wb, y};
    parallel_for(n_wb * n_xb, 1, threads, [&](int64_t t0, int64_t t1) {
        for (int64_t t = t0; t < t1; t++) {
            const int64_t w0 = (t % ctx.n_wb) * ctx.wb, w1 = std::min(ctx.n, w0 + ctx.wb);
            const int64_t x0 = (t / ctx.n_wb) * ctx.xb, x1 = std::min(ctx.m, x0 + ctx.xb);
            int64_t c = w0;
            if (ctx.row8 && x1 - x0 == 1)
                for (; c + 8 <= w1; c += 8)
                    ctx.row8((const float*)(ctx.x + x0 * ctx.k * ctx.esz), ctx.w + c * ctx.k * ctx.wsz, ctx.k, ctx.k,
                             ctx.y + x0 * ctx.n + c);
            for (; c < w1; c += kTile) {
                const int cw = (int)std::min<int64_t>(kTile, w1 - c);
                for (int64_t r = x0; r < x1; r += kTile) {
                    const int rx = (int)std::min<int64_t>(kTile, x1 - r);
                    ctx.tile(ctx.x + r * ctx.k * ctx.esz, ctx.k, ctx.w + c * ctx.k * ctx.wsz, ctx.k, ctx.k, rx, cw,
                             ctx.y + r * ctx.n + c, ctx.n);
                }
            }
        }
    });
}

void fabric_op_rms_norm(const float* x, int64_t rows, int64_t n, float eps, float* y, int32_t threads) {
    const int64_t grain = (std::max<int64_t>(1, kGrain / std::max<int64_t>(n, 1)) + 7) / 8 * 8;
    parallel_for(rows, grain, threads, [&](int64_t b, int64_t e) {
        double sums[8];
        for (int64_t r0 = b; r0 < e; r0 += 8) {
            const int64_t r1 = std::min(e, r0 + 8);
            bool have = false;
#if FABRIC_X86
            // 8 rows' sums at a time
            if (r1 - r0 == 8 && has_avx512()) {
                sumsq8_avx512(x + r0 * n, n, sums);
                have = true;
            }
            if (r1 - r0 == 8 && has_avx2()) {
                sumsq4_avx2(x + r0 * n, n, sums);
                sumsq4_avx2(x + (r0 + 4) * n, n, sums + 4);
                have = true;
            }
#endif
            for (int64_t r = r0; r < r1; r++) {
                const float* xr = x + r * n;
                double sum = 0.0;
                if (have) sum = sums[r - r0];
                else
                    for (int64_t i = 0; i < n; i++) sum += (double)(xr[i] * xr[i]);
                const float scale = 1.0f / sqrtf((float)(sum / (double)n) + eps);
                float* yr = y + r * n;
                for (int64_t i = 0; i < n; i++) yr[i] = xr[i] * scale;
            }
        }
    });
}

void fabric_op_rope(const float* x, int64_t n_tokens, int64_t n_head, int64_t head_dim, int64_t n_rot,
                    const int32_t* pos, float theta_base, int32_t mode, float* y, int32_t threads) {
    const float theta_scale = powf(theta_base, -2.0f / (float)n_rot);
    const int64_t half = n_rot / 2;
    // cos/sin per token and pair. A forward pass ropes q and k of every layer at the same positions, so the
    // calling thread keeps the last table and reuses it when positions, n_rot and base are the same.
    struct Table {
        std::vector<int32_t> pos;
        int64_t n_rot = 0;
        float base = 0.0f;
        std::vector<float> cs;
    };
    static thread_local Table tab;
    if (tab.n_rot != n_rot || tab.base != theta_base || (int64_t)tab.pos.size() != n_tokens ||
        memcmp(tab.pos.data(), pos, (size_t)n_tokens * sizeof(int32_t)) != 0) {
        tab.pos.assign(pos, pos + n_tokens);
        tab.n_rot = n_rot;
        tab.base = theta_base;
        tab.cs.resize((size_t)(n_tokens * n_rot));
        float* cs = tab.cs.data();
        parallel_for(n_tokens, 16, threads, [&](int64_t b, int64_t e) {
            for (int64_t t = b; t < e; t++) {
                // angles pos * theta_scale^i by repeated multiplication in float, as ggml's rope cache does
                float theta = (float)pos[t];
                for (int64_t i = 0; i < half; i++) {
                    cs[t * n_rot + i] = cosf(theta);
                    cs[t * n_rot + half + i] = sinf(theta);
                    theta *= theta_scale;
                }
            }
        });
    }
    const float* table = tab.cs.data();
    parallel_for(n_tokens, 1, threads, [&](int64_t b, int64_t e) {
        for (int64_t t = b; t < e; t++) {
            const float* cs = table + t * n_rot;
            for (int64_t h = 0; h < n_head; h++) {
                const float* xh = x + (t * n_head + h) * head_dim;
                float* yh = y + (t * n_head + h) * head_dim;
                int64_t i = 0;
#if FABRIC_X86
                if (mode == FABRIC_ROPE_NEOX && has_avx512()) i = rope_neox_avx512(xh, cs, half, yh);
                if (mode == FABRIC_ROPE_NEOX && has_avx2()) i = rope_neox_avx2(xh, cs, half, yh);
#endif
                for (; i < half; i++) {
                    const int64_t i0 = mode == FABRIC_ROPE_NEOX ? i : 2 * i;
                    const int64_t i1 = mode == FABRIC_ROPE_NEOX ? i + half : 2 * i + 1;
                    const float c = cs[i], s = cs[half + i];
                    const float x0 = xh[i0], x1 = xh[i1];
                    // x0*c - x1*s and x0*s + x1*c with the x0 product fused, as ggml's FMA build rounds them
                    yh[i0] = fmaf(x0, c, -(x1 * s));
                    yh[i1] = fmaf(x0, s, x1 * c);
                }
                if (yh != xh)
                    for (int64_t i = n_rot; i < head_dim; i++) yh[i] = xh[i];
            }
        }
    });
}

void fabric_op_attention(const float* q, int64_t n_q, int64_t n_head, int64_t head_dim, int32_t kv_type,
                         const void* k, const void* v, int64_t n_kv, int64_t n_head_kv, int64_t kv_stride,
                         int64_t q_pos0, float scale, float* out, int32_t threads) {
    const int64_t group = n_head / n_head_kv;
#if FABRIC_X86
    if (kv_type == FABRIC_TYPE_F16 && has_avx512() && fa16_group_for(head_dim, 1) && !g_attention_rowwise) {
        // one task = up to kFaLanes heads of a KV group at one query position; the last positions (the
        // most keys) first, so the short tasks fill the end
        const int64_t packs = (group + kFaLanes - 1) / kFaLanes, per_row = n_head_kv * packs;
        parallel_for(n_q * per_row, 1, threads, [&](int64_t b, int64_t e) {
            static thread_local std::vector<float> scratch;
            static thread_local std::vector<uint16_t> qbuf;
            static thread_local std::vector<int32_t> rpos;
            if ((int64_t)scratch.size() < 3 * kFaLanes * n_kv) scratch.resize((size_t)(3 * kFaLanes * n_kv));
            if ((int64_t)rpos.size() < kFaLanes * n_kv) rpos.resize((size_t)(kFaLanes * n_kv));
            if ((int64_t)qbuf.size() < kFaLanes * head_dim) qbuf.resize((size_t)(kFaLanes * head_dim));
            for (int64_t task = b; task < e; task++) {
                const int64_t i = n_q - 1 - task / per_row, g = (task % per_row) / packs;
                const int64_t h0 = g * group + (task % packs) * kFaLanes;
                const int lanes = (int)std::min<int64_t>(kFaLanes, g * group + group - h0);
                const int64_t visible = std::min(n_kv, q_pos0 + i + 1);
                const uint16_t* qh[kFaLanes];
                float* o[kFaLanes];
                for (int l = 0; l < lanes; l++) {
                    to_f16(q + (i * n_head + h0 + l) * head_dim, head_dim, qbuf.data() + l * head_dim);
                    qh[l] = qbuf.data() + l * head_dim;
                    o[l] = out + (i * n_head + h0 + l) * head_dim;
                }
                fa16_group_for(head_dim, lanes)(qh, (const uint16_t*)k + g * head_dim, (const uint16_t*)v + g * head_dim,
                                                kv_stride, visible, head_dim, scale, o, scratch.data(), rpos.data());
            }
        });
        return;
    }
    if (kv_type == FABRIC_TYPE_F16 && has_avx2() && head_dim % 32 == 0 && head_dim <= kFa2MaxDim &&
        !g_attention_rowwise) {
        // as the AVX-512 kernel: one task = up to kFaLanes heads of a KV group at one query position, the last
        // positions first
        const int64_t packs = (group + kFaLanes - 1) / kFaLanes, per_row = n_head_kv * packs;
        parallel_for(n_q * per_row, 1, threads, [&](int64_t b, int64_t e) {
            static thread_local std::vector<float> scratch;
            static thread_local std::vector<uint16_t> qbuf;
            static thread_local std::vector<int32_t> rpos;
            const int64_t need = kFaLanes * (3 * n_kv + head_dim);
            if ((int64_t)scratch.size() < need) scratch.resize((size_t)need);
            if ((int64_t)rpos.size() < kFaLanes * n_kv) rpos.resize((size_t)(kFaLanes * n_kv));
            if ((int64_t)qbuf.size() < kFaLanes * head_dim) qbuf.resize((size_t)(kFaLanes * head_dim));
            for (int64_t task = b; task < e; task++) {
                const int64_t i = n_q - 1 - task / per_row, g = (task % per_row) / packs;
                const int64_t h0 = g * group + (task % packs) * kFaLanes;
                const int lanes = (int)std::min<int64_t>(kFaLanes, g * group + group - h0);
                const int64_t visible = std::min(n_kv, q_pos0 + i + 1);
                const uint16_t* qh[kFaLanes];
                float* o[kFaLanes];
                for (int l = 0; l < lanes; l++) {
                    to_f16(q + (i * n_head + h0 + l) * head_dim, head_dim, qbuf.data() + l * head_dim);
                    qh[l] = qbuf.data() + l * head_dim;
                    o[l] = out + (i * n_head + h0 + l) * head_dim;
                }
                (lanes == 1 ? fa16_group_avx2<1> : fa16_group_avx2<kFaLanes>)(
                    qh, (const uint16_t*)k + g * head_dim, (const uint16_t*)v + g * head_dim, kv_stride, visible,
                    head_dim, scale, o, scratch.data(), rpos.data());
            }
        });
        return;
    }
#endif
    parallel_for(n_q * n_head, 1, threads, [&](int64_t b, int64_t e) {
        std::vector<float> s((size_t)n_kv), qf((size_t)head_dim), row((size_t)head_dim), acc((size_t)head_dim);
        std::vector<uint16_t> qh((size_t)head_dim), acc16((size_t)head_dim);
        for (int64_t task = b; task < e; task++) {
            const int64_t i = task / n_head, h = task % n_head, g = h / group;
            const int64_t visible = std::min(n_kv, q_pos0 + i + 1);
            const float* qi = q + (i * n_head + h) * head_dim;
            float* o = out + (i * n_head + h) * head_dim;
            if (kv_type == FABRIC_TYPE_F16) {
                // llama.cpp's CPU flash attention over an F16 cache: q rounded to F16, scores from exact F16
                // products summed in double, one pass of online softmax with the V sum kept in F16 (rounded
                // after every update), then divided by the F32 softmax denominator.
                const uint16_t* kc = (const uint16_t*)k;
                const uint16_t* vc = (const uint16_t*)v;
                to_f16(qi, head_dim, qh.data());
#if FABRIC_X86
                if (has_avx512()) {
                    if (Fa16Row row = fa16_row_for(head_dim)) {
                        row(qh.data(), kc + g * head_dim, vc + g * head_dim, kv_stride, visible, head_dim, scale, o);
                        continue;
                    }
                }
#endif
                std::fill(acc16.begin(), acc16.end(), (uint16_t)0);
                float mx = -INFINITY, sum = 0.0f;
                for (int64_t j = 0; j < visible; j++) {
                    const float sj = dot_f16_ggml(qh.data(), kc + j * kv_stride + g * head_dim, head_dim) * scale;
                    float ms = 1.0f, vs = 1.0f;
                    if (sj > mx) {
                        ms = expf(mx - sj);
                        mx = sj;
                        f16_scale(acc16.data(), ms, head_dim);
                    } else {
                        vs = expf(sj - mx);
                    }
                    f16_fma(acc16.data(), vc + j * kv_stride + g * head_dim, vs, head_dim);
                    sum = fmaf(sum, ms, vs);
                }
                const float inv = 1.0f / sum;
                for (int64_t d = 0; d < head_dim; d++) o[d] = f16_to_f32(acc16[d]) * inv;
                continue;
            }
            // F32 cache: exact two-pass softmax in F32 with a double denominator
            const float* kc = (const float*)k;
            const float* vc = (const float*)v;
            float mx = -INFINITY;
            for (int64_t j = 0; j < visible; j++) {
                s[j] = dot_f32(qi, kc + j * kv_stride + g * head_dim, head_dim) * scale;
                mx = std::max(mx, s[j]);
            }
            double sum = 0.0;
            for (int64_t j = 0; j < visible; j++) {
                s[j] = expf(s[j] - mx);
                sum += s[j];
            }
            std::fill(acc.begin(), acc.end(), 0.0f);
            for (int64_t j = 0; j < visible; j++) axpy_f32(s[j], vc + j * kv_stride + g * head_dim, head_dim, acc.data());
            const float inv = (float)(1.0 / sum);
            for (int64_t d = 0; d < head_dim; d++) o[d] = acc[d] * inv;
        }
    });
}

void fabric_op_softmax(const float* x, int64_t rows, int64_t n, float* y, int32_t threads) {
    parallel_for(rows, std::max<int64_t>(1, kGrain / std::max<int64_t>(n, 1)), threads, [&](int64_t b, int64_t e) {
        for (int64_t r = b; r < e; r++) {
            const float* xr = x + r * n;
            float* yr = y + r * n;
            float mx = -INFINITY;
            for (int64_t i = 0; i < n; i++) mx = std::max(mx, xr[i]);
            double sum = 0.0;
            for (int64_t i = 0; i < n; i++) {
                yr[i] = expf(xr[i] - mx);
                sum += yr[i];
            }
            const float inv = (float)(1.0 / sum);
            for (int64_t i = 0; i < n; i++) yr[i] *= inv;
        }
    });
}

void fabric_op_swiglu(const float* gate, const float* up, int64_t rows, int64_t n, float* y, int32_t threads) {
    parallel_for(rows, std::max<int64_t>(1, kGrain / std::max<int64_t>(n, 1)), threads, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; r++) {
            const float* g = gate + r * n;
            const float* u = up + r * n;
            float* yr = y + r * n;
            int64_t i = 0;
#if FABRIC_X86
            if (has_avx512()) i = swiglu_avx512(g, u, n, yr);
            if (has_avx2()) i = swiglu_avx2(g, u, n, yr);
#endif
            for (; i < n; i++) yr[i] = g[i] / (1.0f + expf(-g[i])) * u[i];
        }
    });
}

void fabric_op_add(const float* a, int64_t rows, int64_t n, const float* b, int64_t b_rows, float* y,
                   int32_t threads) {
    parallel_for(rows, std::max<int64_t>(1, kGrain / std::max<int64_t>(n, 1)), threads, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; r++) {
            const float* br = b + (r % b_rows) * n;
#if FABRIC_X86
            if (has_avx512()) {
                binary_avx512<0>(a + r * n, br, n, y + r * n);
                continue;
            }
            if (has_avx2()) {
                binary_avx2<0>(a + r * n, br, n, y + r * n);
                continue;
            }
#endif
            for (int64_t i = 0; i < n; i++) y[r * n + i] = a[r * n + i] + br[i];
        }
    });
}

void fabric_op_mul(const float* a, int64_t rows, int64_t n, const float* b, int64_t b_rows, float* y,
                   int32_t threads) {
    parallel_for(rows, std::max<int64_t>(1, kGrain / std::max<int64_t>(n, 1)), threads, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; r++) {
            const float* br = b + (r % b_rows) * n;
#if FABRIC_X86
            if (has_avx512()) {
                binary_avx512<1>(a + r * n, br, n, y + r * n);
                continue;
            }
            if (has_avx2()) {
                binary_avx2<1>(a + r * n, br, n, y + r * n);
                continue;
            }
#endif
            for (int64_t i = 0; i < n; i++) y[r * n + i] = a[r * n + i] * br[i];
        }
    });
}

void fabric_op_scale(const float* a, int64_t n, float s, float* y, int32_t threads) {
    parallel_for(n, kGrain, threads, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; i++) y[i] = a[i] * s;
    });
}

}  // extern "C"
