// Internal to the native library: the table of kernels that every instruction-set variant fills in.
// Each kernel works on one contiguous range [0, n) and keeps no state, so a thread pool (a later
// issue) can split a row into chunks and call the same entry on each; the dot products then need only
// their partial sums added.
#pragma once
#include <stdint.h>
#include <string.h>

namespace fabric {

struct Kernels {
    void (*f16_to_f32)(const uint16_t* x, float* y, int64_t n);
    void (*f32_to_f16)(const float* x, uint16_t* y, int64_t n);
    void (*bf16_to_f32)(const uint16_t* x, float* y, int64_t n);
    void (*f32_to_bf16)(const float* x, uint16_t* y, int64_t n);
    float (*dot_f32)(const float* x, const float* y, int64_t n);
    float (*dot_f16_f32)(const uint16_t* x, const float* y, int64_t n);
    float (*dot_bf16_f32)(const uint16_t* x, const float* y, int64_t n);
    void (*axpy_f32)(float a, const float* x, float* y, int64_t n);
    void (*scale_f32)(float a, float* x, int64_t n);
};

inline uint32_t f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

inline float f32_from_bits(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

// IEEE binary16 layout: 1 sign, 5 exponent (bias 15), 10 fraction bits.
// binary32: 1 sign, 8 exponent (bias 127), 23 fraction bits. Rebias = (127 - 15) << 23.

// Exact widening; NaN payloads are kept and made quiet, as F16C's vcvtph2ps does.
inline float f16_to_f32_scalar(uint16_t h) {
    const uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    const uint32_t exp = (h >> 10) & 0x1fu;
    const uint32_t man = h & 0x3ffu;
    if (exp == 0x1f) return f32_from_bits(sign | 0x7f800000u | (man << 13) | (man ? 0x00400000u : 0));
    if (exp != 0) return f32_from_bits(sign | ((exp + 112) << 23) | (man << 13));
    // Zero or subnormal: man * 2^-24, exact in binary32 (man < 2^10, result normal).
    return f32_from_bits(sign | f32_bits((float)man * 0x1p-24f));
}

// Round to nearest, ties to even. Overflow (|x| >= 65520, the midpoint above 65504) gives inf.
inline uint16_t f32_to_f16_scalar(float f) {
    const uint32_t x = f32_bits(f);
    const uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    const uint32_t ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u) return sign | 0x7e00u | (uint16_t)((ax >> 13) & 0x3ffu);  // quiet NaN
    if (ax >= 0x477ff000u) return sign | 0x7c00u;
    if (ax >= 0x38800000u) {  // >= 2^-14: normal result; a carry out of the fraction bumps the exponent
        const uint32_t r = ax + 0xfffu + ((ax >> 13) & 1u) - (112u << 23);
        return sign | (uint16_t)(r >> 13);
    }
    if (ax <= 0x33000000u) return sign;  // <= 2^-25: half the smallest subnormal or less, ties to 0
    // Subnormal result in units of 2^-24: the 24-bit significand shifted right by 126 - exponent.
    const uint32_t e = ax >> 23;
    const uint32_t m = (ax & 0x7fffffu) | 0x800000u;
    const uint32_t s = 126u - e;  // 14..24
    uint32_t q = m >> s;
    const uint32_t rem = m & ((1u << s) - 1u), half = 1u << (s - 1u);
    q += (rem > half || (rem == half && (q & 1u))) ? 1u : 0u;
    return sign | (uint16_t)q;
}

inline float bf16_to_f32_scalar(uint16_t h) {
    return f32_from_bits((uint32_t)h << 16);
}

// Round to nearest even on the bit pattern (subnormals are not flushed); NaN: truncated, bit 6 forces quiet.
inline uint16_t f32_to_bf16_scalar(float f) {
    const uint32_t u = f32_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40u);
    return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

extern const Kernels kGenericKernels;
#if defined(__x86_64__) || defined(__i386__)
extern const Kernels kAvx2Kernels;
extern const Kernels kAvx512Kernels;
#endif
#if defined(__aarch64__)
extern const Kernels kNeonKernels;
#endif

}  // namespace fabric
