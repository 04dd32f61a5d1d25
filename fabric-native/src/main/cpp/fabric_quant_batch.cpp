// Batched sub-block solvers for the k-quants: many independent searches at once, one per SIMD lane
// (fabric_quant_batch.inc), chosen at run time like the dequantizers (fabric_quant_set_isa). The scalar
// build calls the reference solvers one sub-block at a time and is the oracle the SIMD builds must match
// bit for bit (QuantIsaParityTest).
#include <algorithm>
#include <cstring>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "fabric_quant_common.h"

namespace fq {

namespace qb_scalar {
void asym_batch(int count, int n, int nmax, const float* x, const float* w, uint8_t* L, float* scales, float* mins,
                float rmin, float rdelta, int nstep, bool use_mad, bool qkx3) {
    uint8_t aux[32];
    for (int k = 0; k < count; ++k) {
        scales[k] = solve_asymmetric(n, nmax, x + n * k, w + n * k, L + n * k, &mins[k], aux, rmin, rdelta, nstep,
                                     use_mad, qkx3);
    }
}
void sym_batch(int count, int n, int nmax, const float* x, const float* w, int8_t* L, float* scales) {
    for (int k = 0; k < count; ++k) scales[k] = solve_symmetric(n, nmax, x + n * k, L + n * k, 1, w + n * k);
}
void pos_batch(int count, int n, int nmax, const float* x, const float* w, uint8_t* L, float* out) {
    for (int k = 0; k < count; ++k) out[k] = solve_positive(n, nmax, x + n * k, L + n * k, w + n * k);
}
}  // namespace qb_scalar

#ifdef FQ_HAVE_X86_VARIANTS
#pragma GCC push_options
#pragma GCC target("avx2,f16c")
namespace qb_avx2 {
#define FQB_W 8
#include "fabric_quant_batch.inc"
#undef FQB_W
// F16C converts every half exactly (subnormals too; NaNs come back quiet with their payload), as half_to_float.
void f16_to_f32(const uint16_t* src, float* dst, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i))));
    }
    for (; i < n; ++i) dst[i] = half_to_float(src[i]);
}
}  // namespace qb_avx2
#pragma GCC pop_options
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512dq,avx512vl")
namespace qb_avx512 {
#define FQB_W 16
#include "fabric_quant_batch.inc"
#undef FQB_W
}  // namespace qb_avx512
#pragma GCC pop_options
#endif

void asym_batch(int count, int n, int nmax, const float* x, const float* w, uint8_t* L, float* scales, float* mins,
                float rmin, float rdelta, int nstep, bool use_mad, bool qkx3) {
#ifdef FQ_HAVE_X86_VARIANTS
    switch (quant_variant()) {
        case FABRIC_DQ_AVX512:
            return qb_avx512::asym_batch(count, n, nmax, x, w, L, scales, mins, rmin, rdelta, nstep, use_mad, qkx3);
        case FABRIC_DQ_AVX2:
            return qb_avx2::asym_batch(count, n, nmax, x, w, L, scales, mins, rmin, rdelta, nstep, use_mad, qkx3);
        default: break;
    }
#endif
    qb_scalar::asym_batch(count, n, nmax, x, w, L, scales, mins, rmin, rdelta, nstep, use_mad, qkx3);
}

void sym_batch(int count, int n, int nmax, const float* x, const float* w, int8_t* L, float* scales) {
#ifdef FQ_HAVE_X86_VARIANTS
    switch (quant_variant()) {
        case FABRIC_DQ_AVX512: return qb_avx512::sym_batch(count, n, nmax, x, w, L, scales);
        case FABRIC_DQ_AVX2: return qb_avx2::sym_batch(count, n, nmax, x, w, L, scales);
        default: break;
    }
#endif
    qb_scalar::sym_batch(count, n, nmax, x, w, L, scales);
}

void pos_batch(int count, int n, int nmax, const float* x, const float* w, uint8_t* L, float* out) {
#ifdef FQ_HAVE_X86_VARIANTS
    switch (quant_variant()) {
        case FABRIC_DQ_AVX512: return qb_avx512::pos_batch(count, n, nmax, x, w, L, out);
        case FABRIC_DQ_AVX2: return qb_avx2::pos_batch(count, n, nmax, x, w, L, out);
        default: break;
    }
#endif
    qb_scalar::pos_batch(count, n, nmax, x, w, L, out);
}

void f16_to_f32(const uint16_t* src, float* dst, int64_t n) {
#ifdef FQ_HAVE_X86_VARIANTS
    if (quant_variant() != FABRIC_DQ_SCALAR) return qb_avx2::f16_to_f32(src, dst, n);
#endif
    for (int64_t i = 0; i < n; ++i) dst[i] = half_to_float(src[i]);
}

}  // namespace fq
