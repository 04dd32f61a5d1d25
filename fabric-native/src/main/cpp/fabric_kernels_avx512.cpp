// The AVX-512 variant (F/BW/DQ/VL; Skylake-SP, Ice Lake, Zen 4 and later). 16 F32 lanes; tails use
// AVX-512's masked loads and stores (masked-off lanes are neither read nor written, so no fault past
// the end). F32 -> BF16 uses integer arithmetic rather than AVX512-BF16's vcvtneps2bf16, because that
// instruction flushes subnormals to zero and the conversion must match the other variants bit for bit.
#include "fabric_kernels.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

// GCC 12's AVX-512 headers trip its own -Wuninitialized (the "__Y = __Y" idiom of _mm512_undefined_*,
// GCC bug 105593, fixed in 13); silenced for this file only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#define FABRIC_AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,f16c")))

namespace fabric {
namespace avx512 {  // named, not anonymous: all variant files share one translation unit

FABRIC_AVX512 inline __mmask16 tail_mask(int64_t r) {
    return r >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << r) - 1u);
}

FABRIC_AVX512 inline __m512 cvt_f16(__m256i h) {
    return _mm512_cvtph_ps(h);
}

FABRIC_AVX512 inline __m512 cvt_bf16(__m256i h) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

FABRIC_AVX512 void f16_to_f32(const uint16_t* x, float* y, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, cvt_f16(_mm256_loadu_si256((const __m256i*)(x + i))));
    if (i < n) {
        const __mmask16 m = tail_mask(n - i);
        _mm512_mask_storeu_ps(y + i, m, cvt_f16(_mm256_maskz_loadu_epi16(m, x + i)));
    }
}

FABRIC_AVX512 void f32_to_f16(const float* x, uint16_t* y, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm256_storeu_si256((__m256i*)(y + i),
                            _mm512_cvtps_ph(_mm512_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    if (i < n) {
        const __mmask16 m = tail_mask(n - i);
        const __m256i h = _mm512_cvtps_ph(_mm512_maskz_loadu_ps(m, x + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        _mm256_mask_storeu_epi16(y + i, m, h);
    }
}

FABRIC_AVX512 void bf16_to_f32(const uint16_t* x, float* y, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, cvt_bf16(_mm256_loadu_si256((const __m256i*)(x + i))));
    if (i < n) {
        const __mmask16 m = tail_mask(n - i);
        _mm512_mask_storeu_ps(y + i, m, cvt_bf16(_mm256_maskz_loadu_epi16(m, x + i)));
    }
}

// Round to nearest even on the bits; NaN lanes (|u| > inf) take the truncated bits with bit 6 set.
FABRIC_AVX512 inline __m256i to_bf16(__m512 v) {
    const __m512i u = _mm512_castps_si512(v);
    const __m512i hi = _mm512_srli_epi32(u, 16);
    const __m512i odd = _mm512_and_si512(hi, _mm512_set1_epi32(1));
    __m512i r = _mm512_srli_epi32(_mm512_add_epi32(_mm512_add_epi32(u, _mm512_set1_epi32(0x7fff)), odd), 16);
    const __mmask16 nan = _mm512_cmpgt_epu32_mask(_mm512_and_si512(u, _mm512_set1_epi32(0x7fffffff)),
                                                  _mm512_set1_epi32(0x7f800000));
    r = _mm512_mask_or_epi32(r, nan, hi, _mm512_set1_epi32(0x40));
    return _mm512_cvtepi32_epi16(r);  // truncating narrow; every lane already fits 16 bits
}

FABRIC_AVX512 void f32_to_bf16(const float* x, uint16_t* y, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) _mm256_storeu_si256((__m256i*)(y + i), to_bf16(_mm512_loadu_ps(x + i)));
    if (i < n) {
        const __mmask16 m = tail_mask(n - i);
        _mm256_mask_storeu_epi16(y + i, m, to_bf16(_mm512_maskz_loadu_ps(m, x + i)));
    }
}

// Four accumulators of 16 lanes; masked-off tail lanes load as zero and add nothing.
template <typename Load>
FABRIC_AVX512 inline float dot_with(Load load, const float* y, int64_t n) {
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    int64_t i = 0;
    for (; i + 64 <= n; i += 64) {
        a0 = _mm512_fmadd_ps(load(i, 0xffff), _mm512_loadu_ps(y + i), a0);
        a1 = _mm512_fmadd_ps(load(i + 16, 0xffff), _mm512_loadu_ps(y + i + 16), a1);
        a2 = _mm512_fmadd_ps(load(i + 32, 0xffff), _mm512_loadu_ps(y + i + 32), a2);
        a3 = _mm512_fmadd_ps(load(i + 48, 0xffff), _mm512_loadu_ps(y + i + 48), a3);
    }
    for (; i < n; i += 16) {
        const __mmask16 m = tail_mask(n - i);
        a0 = _mm512_fmadd_ps(load(i, m), _mm512_maskz_loadu_ps(m, y + i), a0);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
}

struct LoadF32 {
    const float* x;
    FABRIC_AVX512 __m512 operator()(int64_t i, __mmask16 m) const { return _mm512_maskz_loadu_ps(m, x + i); }
};

struct LoadF16 {
    const uint16_t* x;
    FABRIC_AVX512 __m512 operator()(int64_t i, __mmask16 m) const { return cvt_f16(_mm256_maskz_loadu_epi16(m, x + i)); }
};

struct LoadBF16 {
    const uint16_t* x;
    FABRIC_AVX512 __m512 operator()(int64_t i, __mmask16 m) const { return cvt_bf16(_mm256_maskz_loadu_epi16(m, x + i)); }
};

FABRIC_AVX512 float dot_f32(const float* x, const float* y, int64_t n) {
    return dot_with(LoadF32{x}, y, n);
}

FABRIC_AVX512 float dot_f16_f32(const uint16_t* x, const float* y, int64_t n) {
    return dot_with(LoadF16{x}, y, n);
}

FABRIC_AVX512 float dot_bf16_f32(const uint16_t* x, const float* y, int64_t n) {
    return dot_with(LoadBF16{x}, y, n);
}

FABRIC_AVX512 void axpy_f32(float a, const float* x, float* y, int64_t n) {
    const __m512 va = _mm512_set1_ps(a);
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        _mm512_storeu_ps(y + i, _mm512_fmadd_ps(va, _mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i)));
        _mm512_storeu_ps(y + i + 16, _mm512_fmadd_ps(va, _mm512_loadu_ps(x + i + 16), _mm512_loadu_ps(y + i + 16)));
    }
    for (; i < n; i += 16) {
        const __mmask16 m = tail_mask(n - i);
        _mm512_mask_storeu_ps(y + i, m, _mm512_fmadd_ps(va, _mm512_maskz_loadu_ps(m, x + i), _mm512_maskz_loadu_ps(m, y + i)));
    }
}

FABRIC_AVX512 void scale_f32(float a, float* x, int64_t n) {
    const __m512 va = _mm512_set1_ps(a);
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        _mm512_storeu_ps(x + i, _mm512_mul_ps(_mm512_loadu_ps(x + i), va));
        _mm512_storeu_ps(x + i + 16, _mm512_mul_ps(_mm512_loadu_ps(x + i + 16), va));
    }
    for (; i < n; i += 16) {
        const __mmask16 m = tail_mask(n - i);
        _mm512_mask_storeu_ps(x + i, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), va));
    }
}

}  // namespace avx512

const Kernels kAvx512Kernels = {avx512::f16_to_f32, avx512::f32_to_f16, avx512::bf16_to_f32, avx512::f32_to_bf16, avx512::dot_f32,
                                avx512::dot_f16_f32, avx512::dot_bf16_f32, avx512::axpy_f32, avx512::scale_f32};

}  // namespace fabric

#undef FABRIC_AVX512
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#endif
