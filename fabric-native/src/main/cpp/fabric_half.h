// The one scalar F16 / BF16 converter of the native code: the ops (fabric_ops.cpp), the row kernels
// (fabric_kernels_*.cpp), the quantizer and dequantizers (fabric_quant_common.h) all convert through these.
// Written without branches (every case computed, then chosen by bit masks) so that loops over them vectorise for
// the baseline target; with ternaries GCC keeps branches (it will not speculate the float operations under its
// default -ftrapping-math). IEEE binary16: 1 sign, 5 exponent (bias 15), 10 fraction bits; binary32: 1 sign,
// 8 exponent (bias 127), 23 fraction bits; rebias = (127 - 15) << 23.
#pragma once
#include <stdint.h>
#include <string.h>

namespace fabric_half {

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

inline uint32_t pick_bits(bool c, uint32_t a, uint32_t b) {
    const uint32_t m = 0u - (uint32_t)c;
    return (a & m) | (b & ~m);
}

// Exact widening; NaN payloads are kept and made quiet, as F16C's vcvtph2ps does.
inline float f16_to_f32(uint16_t h) {
    const uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    const uint32_t exp = (h >> 10) & 0x1fu;
    const uint32_t man = h & 0x3ffu;
    const uint32_t normal = ((exp + 112u) << 23) | (man << 13);
    const uint32_t special = 0x7f800000u | (man << 13) | pick_bits(man != 0, 0x00400000u, 0u);  // inf, quiet NaN
    const uint32_t small = f32_bits((float)(int32_t)man * 0x1p-24f);  // zero or subnormal: exact, normal in F32
    return f32_from_bits(sign | pick_bits(exp == 0x1fu, special, pick_bits(exp == 0u, small, normal)));
}

// Round to nearest, ties to even, as F16C's vcvtps2ph: overflow (|x| >= 65520, the midpoint above 65504) gives
// inf; NaN stays NaN, quiet, with its top payload bits.
inline uint16_t f32_to_f16(float f) {
    const uint32_t x = f32_bits(f);
    const uint32_t ax = x & 0x7fffffffu;
    // Normal result (|x| >= 2^-14): drop 13 fraction bits rounding to even; a carry bumps the exponent.
    const uint32_t normal = (ax + 0xfffu + ((ax >> 13) & 1u) - (112u << 23)) >> 13;
    // Subnormal result: in [0.5, 1) the F32 spacing is 2^-24, the F16 subnormal step, so adding 0.5 makes
    // the FPU round |x| to a multiple of 2^-24 (to nearest even); the fraction bits are then the result.
    const uint32_t small = f32_bits(f32_from_bits(ax) + 0.5f) - 0x3f000000u;
    const uint32_t nan = 0x7e00u | ((ax >> 13) & 0x3ffu);  // quiet, top payload bits kept
    uint32_t r = pick_bits(ax < 0x38800000u, small, normal);
    r = pick_bits(ax >= 0x477ff000u, 0x7c00u, r);
    r = pick_bits(ax > 0x7f800000u, nan, r);
    return (uint16_t)(((x >> 16) & 0x8000u) | r);
}

// As f32_to_f16 but NaN -> sign | 0x7E00, as ggml_compute_fp32_to_fp16 (the quantizer's scales must be
// llama-quantize's bytes).
inline uint16_t f32_to_f16_ggml(float f) {
    const uint32_t x = f32_bits(f);
    return (uint16_t)pick_bits((x & 0x7fffffffu) > 0x7f800000u, ((x >> 16) & 0x8000u) | 0x7e00u, f32_to_f16(f));
}

inline float bf16_to_f32(uint16_t h) {
    return f32_from_bits((uint32_t)h << 16);
}

// Round to nearest even on the bit pattern (subnormals are not flushed); NaN: truncated, bit 6 forces quiet.
inline uint16_t f32_to_bf16(float f) {
    const uint32_t u = f32_bits(f);
    const uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
    return (uint16_t)pick_bits((u & 0x7fffffffu) > 0x7f800000u, (u >> 16) | 0x40u, rounded);
}

}  // namespace fabric_half
