// The NEON variant (AArch64 Advanced SIMD, present on every AArch64 CPU, so it needs no target
// attribute). F16 <-> F32 uses FCVTL/FCVTN, which round to nearest even under the default FPCR and
// keep NaN payloads quiet, like F16C. Tails go through small zero-padded buffers.
#include "fabric_kernels.h"

#if defined(__aarch64__)
#include <arm_neon.h>

namespace fabric {
namespace neon {  // named, not anonymous: all variant files share one translation unit

inline float32x4_t load_f16x4(const uint16_t* p) {
    return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(p)));
}

inline float32x4_t load_bf16x4(const uint16_t* p) {
    return vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(p), 16));
}

void f16_to_f32(const uint16_t* x, float* y, int64_t n) {
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) vst1q_f32(y + i, load_f16x4(x + i));
    for (; i < n; i++) y[i] = f16_to_f32_scalar(x[i]);
}

void f32_to_f16(const float* x, uint16_t* y, int64_t n) {
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) vst1_u16(y + i, vreinterpret_u16_f16(vcvt_f16_f32(vld1q_f32(x + i))));
    for (; i < n; i++) y[i] = f32_to_f16_scalar(x[i]);
}

void bf16_to_f32(const uint16_t* x, float* y, int64_t n) {
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) vst1q_f32(y + i, load_bf16x4(x + i));
    for (; i < n; i++) y[i] = bf16_to_f32_scalar(x[i]);
}

void f32_to_bf16(const float* x, uint16_t* y, int64_t n) {
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const uint32x4_t u = vreinterpretq_u32_f32(vld1q_f32(x + i));
        const uint32x4_t odd = vandq_u32(vshrq_n_u32(u, 16), vdupq_n_u32(1));
        const uint32x4_t r = vshrq_n_u32(vaddq_u32(vaddq_u32(u, vdupq_n_u32(0x7fff)), odd), 16);
        const uint32x4_t q = vorrq_u32(vshrq_n_u32(u, 16), vdupq_n_u32(0x40));
        const uint32x4_t nan = vcgtq_u32(vandq_u32(u, vdupq_n_u32(0x7fffffff)), vdupq_n_u32(0x7f800000));
        vst1_u16(y + i, vmovn_u32(vbslq_u32(nan, q, r)));
    }
    for (; i < n; i++) y[i] = f32_to_bf16_scalar(x[i]);
}

// Four accumulators of 4 lanes; the tail is one zero-padded vector.
template <typename Load>
inline float dot_with(Load load, const float* y, int64_t n) {
    float32x4_t a0 = vdupq_n_f32(0), a1 = a0, a2 = a0, a3 = a0;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        a0 = vfmaq_f32(a0, load(i), vld1q_f32(y + i));
        a1 = vfmaq_f32(a1, load(i + 4), vld1q_f32(y + i + 4));
        a2 = vfmaq_f32(a2, load(i + 8), vld1q_f32(y + i + 8));
        a3 = vfmaq_f32(a3, load(i + 12), vld1q_f32(y + i + 12));
    }
    for (; i + 4 <= n; i += 4) a0 = vfmaq_f32(a0, load(i), vld1q_f32(y + i));
    if (i < n) {
        float t[4] = {0, 0, 0, 0};
        memcpy(t, y + i, (size_t)(n - i) * 4);
        a1 = vfmaq_f32(a1, load.tail(i, n - i), vld1q_f32(t));
    }
    return vaddvq_f32(vaddq_f32(vaddq_f32(a0, a1), vaddq_f32(a2, a3)));
}

struct LoadF32 {
    const float* x;
    float32x4_t operator()(int64_t i) const { return vld1q_f32(x + i); }
    float32x4_t tail(int64_t i, int64_t r) const {
        float t[4] = {0, 0, 0, 0};
        memcpy(t, x + i, (size_t)r * 4);
        return vld1q_f32(t);
    }
};

struct LoadF16 {
    const uint16_t* x;
    float32x4_t operator()(int64_t i) const { return load_f16x4(x + i); }
    float32x4_t tail(int64_t i, int64_t r) const {
        uint16_t t[4] = {0, 0, 0, 0};
        memcpy(t, x + i, (size_t)r * 2);
        return load_f16x4(t);
    }
};

struct LoadBF16 {
    const uint16_t* x;
    float32x4_t operator()(int64_t i) const { return load_bf16x4(x + i); }
    float32x4_t tail(int64_t i, int64_t r) const {
        uint16_t t[4] = {0, 0, 0, 0};
        memcpy(t, x + i, (size_t)r * 2);
        return load_bf16x4(t);
    }
};

float dot_f32(const float* x, const float* y, int64_t n) {
    return dot_with(LoadF32{x}, y, n);
}

float dot_f16_f32(const uint16_t* x, const float* y, int64_t n) {
    return dot_with(LoadF16{x}, y, n);
}

float dot_bf16_f32(const uint16_t* x, const float* y, int64_t n) {
    return dot_with(LoadBF16{x}, y, n);
}

// The scalar tail uses a fused multiply-add too, so every element gets the same single rounding.
void axpy_f32(float a, const float* x, float* y, int64_t n) {
    const float32x4_t va = vdupq_n_f32(a);
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) vst1q_f32(y + i, vfmaq_f32(vld1q_f32(y + i), va, vld1q_f32(x + i)));
    for (; i < n; i++) y[i] = __builtin_fmaf(a, x[i], y[i]);
}

void scale_f32(float a, float* x, int64_t n) {
    const float32x4_t va = vdupq_n_f32(a);
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) vst1q_f32(x + i, vmulq_f32(vld1q_f32(x + i), va));
    for (; i < n; i++) x[i] = x[i] * a;
}

}  // namespace neon

const Kernels kNeonKernels = {neon::f16_to_f32, neon::f32_to_f16, neon::bf16_to_f32, neon::f32_to_bf16, neon::dot_f32,
                              neon::dot_f16_f32, neon::dot_bf16_f32, neon::axpy_f32, neon::scale_f32};

}  // namespace fabric

#endif
