// The AVX2 variant (AVX2 + FMA + F16C; Haswell / Zen 1 and later). Every function carries the target
// attribute, so the rest of the library stays baseline x86-64 and runs on any CPU; fabric_cpu.cpp only
// calls in here when the CPU reports these extensions. Tails (n not a multiple of the vector width) go
// through a small zero-padded buffer, or masked loads for F32, so every element takes the same path.
#include "fabric_kernels.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define FABRIC_AVX2 __attribute__((target("avx2,fma,f16c")))

namespace fabric {
namespace avx2 {  // named, not anonymous: all variant files share one translation unit

// Lane mask with the first r (0..8) lanes set, for maskload/maskstore.
FABRIC_AVX2 inline __m256i tail_mask(int64_t r) {
    const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)r), idx);
}

FABRIC_AVX2 inline __m256 load_f16x8(const uint16_t* p) {
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i*)p));
}

FABRIC_AVX2 inline __m256 load_bf16x8(const uint16_t* p) {
    const __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i*)p));
    return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
}

FABRIC_AVX2 void f16_to_f32(const uint16_t* x, float* y, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, load_f16x8(x + i));
    if (i < n) {
        uint16_t t[8] = {0};
        memcpy(t, x + i, (size_t)(n - i) * 2);
        _mm256_maskstore_ps(y + i, tail_mask(n - i), load_f16x8(t));
    }
}

FABRIC_AVX2 void f32_to_f16(const float* x, uint16_t* y, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i*)(y + i), _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
    if (i < n) {
        uint16_t t[8];
        const __m256 v = _mm256_maskload_ps(x + i, tail_mask(n - i));
        _mm_storeu_si128((__m128i*)t, _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT));
        memcpy(y + i, t, (size_t)(n - i) * 2);
    }
}

FABRIC_AVX2 void bf16_to_f32(const uint16_t* x, float* y, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, load_bf16x8(x + i));
    if (i < n) {
        uint16_t t[8] = {0};
        memcpy(t, x + i, (size_t)(n - i) * 2);
        _mm256_maskstore_ps(y + i, tail_mask(n - i), load_bf16x8(t));
    }
}

// F32 -> BF16 bits in the low half of each 32-bit lane: round to nearest even, NaN truncated and quieted.
FABRIC_AVX2 inline __m256i to_bf16_lanes(__m256 v) {
    const __m256i u = _mm256_castps_si256(v);
    const __m256i odd = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
    const __m256i rounded = _mm256_srli_epi32(_mm256_add_epi32(_mm256_add_epi32(u, _mm256_set1_epi32(0x7fff)), odd), 16);
    const __m256i quiet = _mm256_or_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(0x40));
    const __m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(u, _mm256_set1_epi32(0x7fffffff)), _mm256_set1_epi32(0x7f800000));
    return _mm256_blendv_epi8(rounded, quiet, nan);
}

// 16 floats -> 16 bf16. packus keeps 0..65535 as is; its per-128-bit-lane order is undone by the permute.
FABRIC_AVX2 inline __m256i to_bf16x16(__m256 lo, __m256 hi) {
    const __m256i p = _mm256_packus_epi32(to_bf16_lanes(lo), to_bf16_lanes(hi));
    return _mm256_permute4x64_epi64(p, _MM_SHUFFLE(3, 1, 2, 0));
}

FABRIC_AVX2 void f32_to_bf16(const float* x, uint16_t* y, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm256_storeu_si256((__m256i*)(y + i), to_bf16x16(_mm256_loadu_ps(x + i), _mm256_loadu_ps(x + i + 8)));
    if (i < n) {
        float t[16] = {0};
        uint16_t r[16];
        memcpy(t, x + i, (size_t)(n - i) * 4);
        _mm256_storeu_si256((__m256i*)r, to_bf16x16(_mm256_loadu_ps(t), _mm256_loadu_ps(t + 8)));
        memcpy(y + i, r, (size_t)(n - i) * 2);
    }
}

FABRIC_AVX2 inline float hsum(__m256 v) {
    const __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    const __m128 d = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(d, _mm_movehdup_ps(d)));
}

// Four accumulators of 8 lanes hide the FMA latency; the tail is one zero-padded vector.
template <typename Load>
FABRIC_AVX2 inline float dot_with(Load load, const float* y, int64_t n) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        a0 = _mm256_fmadd_ps(load(i), _mm256_loadu_ps(y + i), a0);
        a1 = _mm256_fmadd_ps(load(i + 8), _mm256_loadu_ps(y + i + 8), a1);
        a2 = _mm256_fmadd_ps(load(i + 16), _mm256_loadu_ps(y + i + 16), a2);
        a3 = _mm256_fmadd_ps(load(i + 24), _mm256_loadu_ps(y + i + 24), a3);
    }
    for (; i + 8 <= n; i += 8) a0 = _mm256_fmadd_ps(load(i), _mm256_loadu_ps(y + i), a0);
    if (i < n) {
        const __m256i m = tail_mask(n - i);
        a1 = _mm256_fmadd_ps(load.tail(i, n - i, m), _mm256_maskload_ps(y + i, m), a1);
    }
    return hsum(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
}

struct LoadF32 {
    const float* x;
    FABRIC_AVX2 __m256 operator()(int64_t i) const { return _mm256_loadu_ps(x + i); }
    FABRIC_AVX2 __m256 tail(int64_t i, int64_t, __m256i m) const { return _mm256_maskload_ps(x + i, m); }
};

struct LoadF16 {
    const uint16_t* x;
    FABRIC_AVX2 __m256 operator()(int64_t i) const { return load_f16x8(x + i); }
    FABRIC_AVX2 __m256 tail(int64_t i, int64_t r, __m256i) const {
        uint16_t t[8] = {0};
        memcpy(t, x + i, (size_t)r * 2);
        return load_f16x8(t);
    }
};

struct LoadBF16 {
    const uint16_t* x;
    FABRIC_AVX2 __m256 operator()(int64_t i) const { return load_bf16x8(x + i); }
    FABRIC_AVX2 __m256 tail(int64_t i, int64_t r, __m256i) const {
        uint16_t t[8] = {0};
        memcpy(t, x + i, (size_t)r * 2);
        return load_bf16x8(t);
    }
};

FABRIC_AVX2 float dot_f32(const float* x, const float* y, int64_t n) {
    return dot_with(LoadF32{x}, y, n);
}

FABRIC_AVX2 float dot_f16_f32(const uint16_t* x, const float* y, int64_t n) {
    return dot_with(LoadF16{x}, y, n);
}

FABRIC_AVX2 float dot_bf16_f32(const uint16_t* x, const float* y, int64_t n) {
    return dot_with(LoadBF16{x}, y, n);
}

FABRIC_AVX2 void axpy_f32(float a, const float* x, float* y, int64_t n) {
    const __m256 va = _mm256_set1_ps(a);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
        _mm256_storeu_ps(y + i + 8, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i + 8), _mm256_loadu_ps(y + i + 8)));
    }
    for (; i < n; i += 8) {
        const __m256i m = tail_mask(n - i);
        _mm256_maskstore_ps(y + i, m, _mm256_fmadd_ps(va, _mm256_maskload_ps(x + i, m), _mm256_maskload_ps(y + i, m)));
    }
}

FABRIC_AVX2 void scale_f32(float a, float* x, int64_t n) {
    const __m256 va = _mm256_set1_ps(a);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), va));
        _mm256_storeu_ps(x + i + 8, _mm256_mul_ps(_mm256_loadu_ps(x + i + 8), va));
    }
    for (; i < n; i += 8) {
        const __m256i m = tail_mask(n - i);
        _mm256_maskstore_ps(x + i, m, _mm256_mul_ps(_mm256_maskload_ps(x + i, m), va));
    }
}

}  // namespace avx2

const Kernels kAvx2Kernels = {avx2::f16_to_f32, avx2::f32_to_f16, avx2::bf16_to_f32, avx2::f32_to_bf16, avx2::dot_f32,
                              avx2::dot_f16_f32, avx2::dot_bf16_f32, avx2::axpy_f32, avx2::scale_f32};

}  // namespace fabric

#undef FABRIC_AVX2
#endif
