// Internal to the native library: the table of kernels that every instruction-set variant fills in.
// Each kernel works on one contiguous range [0, n) and keeps no state, so a thread pool (a later
// issue) can split a row into chunks and call the same entry on each; the dot products then need only
// their partial sums added.
#pragma once
#include <stdint.h>
#include <string.h>

#include "fabric_half.h"

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

// Scalar conversions: the one implementation, in fabric_half.h.
inline float f16_to_f32_scalar(uint16_t h) { return fabric_half::f16_to_f32(h); }
inline uint16_t f32_to_f16_scalar(float f) { return fabric_half::f32_to_f16(f); }
inline float bf16_to_f32_scalar(uint16_t h) { return fabric_half::bf16_to_f32(h); }
inline uint16_t f32_to_bf16_scalar(float f) { return fabric_half::f32_to_bf16(f); }

extern const Kernels kGenericKernels;
#if defined(__x86_64__) || defined(__i386__)
extern const Kernels kAvx2Kernels;
extern const Kernels kAvx512Kernels;
#endif
#if defined(__aarch64__)
extern const Kernels kNeonKernels;
#endif

}  // namespace fabric
