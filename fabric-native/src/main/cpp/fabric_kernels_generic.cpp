// The generic variant: plain C++, the reference the SIMD variants are measured against, and the
// fallback on any CPU. Loops are written so the compiler may vectorise them for the baseline target
// (independent lanes); with -ffp-contract=off a*x+y stays two roundings.
#include "fabric_kernels.h"

namespace fabric {
namespace generic {  // named, not anonymous: all variant files share one translation unit

void f16_to_f32(const uint16_t* x, float* y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = f16_to_f32_scalar(x[i]);
}

void f32_to_f16(const float* x, uint16_t* y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = f32_to_f16_scalar(x[i]);
}

void bf16_to_f32(const uint16_t* x, float* y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = bf16_to_f32_scalar(x[i]);
}

void f32_to_bf16(const float* x, uint16_t* y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = f32_to_bf16_scalar(x[i]);
}

// Eight independent partial sums (lane j takes elements j, j+8, ...), then added in a fixed tree.
constexpr int kLanes = 8;

inline float reduce(const float* acc) {
    return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

template <typename Load>
float dot_with(Load xi, const float* y, int64_t n) {
    float acc[kLanes] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t i = 0;
    for (; i + kLanes <= n; i += kLanes)
        for (int j = 0; j < kLanes; j++) acc[j] += xi(i + j) * y[i + j];
    for (int j = 0; i < n; i++, j++) acc[j] += xi(i) * y[i];
    return reduce(acc);
}

float dot_f32(const float* x, const float* y, int64_t n) {
    return dot_with([x](int64_t i) { return x[i]; }, y, n);
}

float dot_f16_f32(const uint16_t* x, const float* y, int64_t n) {
    return dot_with([x](int64_t i) { return f16_to_f32_scalar(x[i]); }, y, n);
}

float dot_bf16_f32(const uint16_t* x, const float* y, int64_t n) {
    return dot_with([x](int64_t i) { return bf16_to_f32_scalar(x[i]); }, y, n);
}

void axpy_f32(float a, const float* x, float* y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = y[i] + a * x[i];
}

void scale_f32(float a, float* x, int64_t n) {
    for (int64_t i = 0; i < n; i++) x[i] = x[i] * a;
}

}  // namespace generic

const Kernels kGenericKernels = {generic::f16_to_f32, generic::f32_to_f16, generic::bf16_to_f32, generic::f32_to_bf16, generic::dot_f32,
                                 generic::dot_f16_f32, generic::dot_bf16_f32, generic::axpy_f32, generic::scale_f32};

}  // namespace fabric
