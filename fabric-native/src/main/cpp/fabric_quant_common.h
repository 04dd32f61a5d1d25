// Internal to the fabric_quant*.cpp files: numeric primitives (spec 3.1), block geometry (spec 2) and
// the declarations the files share. Not part of the JNI surface.
#pragma once
#include <stdint.h>

#include <cmath>
#include <cstring>

#include "fabric_quant.h"
#include "fabric_half.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)  // GCC target pragmas
#define FQ_HAVE_X86_VARIANTS 1
#endif

namespace fq {

// Largest sub-block the solvers take (16 or 32 elements).
constexpr int kMaxN = 32;

// Sub-blocks whose largest |x| is below this are treated as all-zero (ggml's GROUP_MAX_EPS).
constexpr float kGroupEps = 1e-15f;

// The IQ4_NL / IQ4_XS level table (spec 2).
constexpr int8_t kIq4nl[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

inline uint32_t float_bits(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    return u;
}

inline float bits_to_float(uint32_t u) {
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}

// Round half to even by adding 1.5*2^23 in float and reading the low mantissa bits. Out-of-range and
// NaN inputs give the same garbage as the reference; callers clamp.
inline int nearest_int(float f) {
    const float v = f + 12582912.0f;
    int32_t i;
    std::memcpy(&i, &v, 4);
    return (i & 0x007fffff) - 0x00400000;
}

inline int clampi(int v, int lo, int hi) { return v < lo ? lo : (v > hi ? hi : v); }

// C's float -> integer conversion (truncation toward zero), as cvttss2si does it on x86-64.
inline int f2i_trunc(float f) { return (int)f; }

// IEEE binary16 -> binary32, exact. NaNs keep their payload and come back quiet (fabric_half.h).
inline float half_to_float(uint16_t h) { return fabric_half::f16_to_f32(h); }

// IEEE binary32 -> binary16 with round-to-nearest-even, correct subnormals, overflow to Inf and
// NaN -> sign|0x7E00 (ggml_compute_fp32_to_fp16; fabric_half.h).
inline uint16_t half_from_float(float f) { return fabric_half::f32_to_f16_ggml(f); }

inline void put_u16(uint8_t* p, uint16_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
inline void put_u32(uint8_t* p, uint32_t v) {
    for (int i = 0; i < 4; ++i) p[i] = (uint8_t)(v >> (8 * i));
}
inline uint16_t get_u16(const uint8_t* p) { return (uint16_t)(p[0] | (p[1] << 8)); }
inline uint32_t get_u32(const uint8_t* p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
inline float get_half(const uint8_t* p) { return half_to_float(get_u16(p)); }

inline int block_elems(int type) {
    switch (type) {
        case FABRIC_QT_Q4_0: case FABRIC_QT_Q4_1: case FABRIC_QT_Q5_0: case FABRIC_QT_Q5_1:
        case FABRIC_QT_Q8_0: case FABRIC_QT_IQ4_NL: return 32;
        case FABRIC_QT_Q2_K: case FABRIC_QT_Q3_K: case FABRIC_QT_Q4_K: case FABRIC_QT_Q5_K:
        case FABRIC_QT_Q6_K: case FABRIC_QT_IQ4_XS: return 256;
        default: return 0;
    }
}

inline int block_bytes(int type) {
    switch (type) {
        case FABRIC_QT_Q4_0: return 18;
        case FABRIC_QT_Q4_1: return 20;
        case FABRIC_QT_Q5_0: return 22;
        case FABRIC_QT_Q5_1: return 24;
        case FABRIC_QT_Q8_0: return 34;
        case FABRIC_QT_IQ4_NL: return 18;
        case FABRIC_QT_Q2_K: return 84;
        case FABRIC_QT_Q3_K: return 110;
        case FABRIC_QT_Q4_K: return 144;
        case FABRIC_QT_Q5_K: return 176;
        case FABRIC_QT_Q6_K: return 210;
        case FABRIC_QT_IQ4_XS: return 136;
        default: return 0;
    }
}

// Helper solvers (spec 3.2), defined in fabric_quant.cpp.
float solve_symmetric(int n, int nmax, const float* x, int8_t* L, int rmse_type, const float* qw);
float solve_q3(int n, int nmax, const float* x, int8_t* L);
float solve_asymmetric(int n, int nmax, const float* x, const float* w, uint8_t* L, float* the_min,
                       uint8_t* Laux, float rmin, float rdelta, int nstep, bool use_mad, bool qkx3);
float solve_positive(int n, int nmax, const float* x, uint8_t* L, const float* qw);

// The same solvers over `count` consecutive sub-blocks of n elements (x, w: count*n floats; L: count*n
// levels; scales, mins: count), vectorized across sub-blocks where the CPU allows (fabric_quant_batch.cpp).
// Bytes identical to calling the solvers above one sub-block at a time; solve_symmetric with weights w.
void asym_batch(int count, int n, int nmax, const float* x, const float* w, uint8_t* L, float* scales, float* mins,
                float rmin, float rdelta, int nstep, bool use_mad, bool qkx3);
void sym_batch(int count, int n, int nmax, const float* x, const float* w, int8_t* L, float* scales);
// solve_positive over count problems of n values (x, w, L: count*n; out: count scales).
void pos_batch(int count, int n, int nmax, const float* x, const float* w, uint8_t* L, float* out);

// Exact F16 -> F32 (F16C where the variant allows; same bits as half_to_float for all 65536 halves).
void f16_to_f32(const uint16_t* src, float* dst, int64_t n);

// The FABRIC_DQ_* variant chosen by fabric_quant_set_isa (fabric_quant_dequant.cpp); also picks the batch solvers.
int quant_variant();

// k-quant rows (fabric_quant_kquants.cpp): n elements, qw = per-column weights of the row or nullptr.
void q2_k_row(const float* x, uint8_t* out, int64_t n, const float* qw);
void q3_k_row(const float* x, uint8_t* out, int64_t n, const float* qw);
void q4_k_row(const float* x, uint8_t* out, int64_t n, const float* qw);
void q5_k_row(const float* x, uint8_t* out, int64_t n, const float* qw);
void q6_k_row(const float* x, uint8_t* out, int64_t n, const float* qw);

// Dequantizers (fabric_quant_dequant.cpp): nblocks consecutive blocks into floats.
typedef void (*DequantFn)(const uint8_t* src, float* dst, int64_t nblocks);
DequantFn dequant_fn(int type);

}  // namespace fq
