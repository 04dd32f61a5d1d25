// Fabric CPU kernels: the C surface bound to Java by dev.fabric.backend.cpu.CpuNative.
// C-style on purpose (pointers, sizes, ints): no C++ objects cross JNI.
#pragma once
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// Bit set of the instruction sets this CPU supports (FABRIC_ISA_* below).
enum {
    FABRIC_ISA_AVX2 = 1 << 0,     // AVX2 + FMA + F16C
    FABRIC_ISA_AVX512 = 1 << 1,   // AVX-512 F/BW/DQ/VL
    FABRIC_ISA_AVX512_BF16 = 1 << 2,
    FABRIC_ISA_AVX512_VNNI = 1 << 3,
    FABRIC_ISA_NEON = 1 << 4,
};
int fabric_cpu_features(void);

// Kernel variants: one build of every kernel per instruction set. Every kernel takes the variant as its
// first argument; FABRIC_VARIANT_AUTO picks fabric_variant_best(). Kernels called with a variant that is
// not available do nothing and return FABRIC_ERR_VARIANT (the dot products return NaN).
enum {
    FABRIC_VARIANT_AUTO = -1,
    FABRIC_VARIANT_GENERIC = 0,   // plain C++ (whatever the compiler's baseline target gives)
    FABRIC_VARIANT_AVX2 = 1,      // AVX2 + FMA + F16C
    FABRIC_VARIANT_AVX512 = 2,    // AVX-512 F/BW/DQ/VL
    FABRIC_VARIANT_NEON = 3,      // AArch64 Advanced SIMD
    FABRIC_VARIANT_COUNT = 4,
};
enum { FABRIC_OK = 0, FABRIC_ERR_VARIANT = -1 };

int fabric_variants_compiled(void);   // bit (1 << variant) per variant built into this library
int fabric_variants_available(void);  // compiled and supported by this CPU
int fabric_variant_best(void);        // the variant FABRIC_VARIANT_AUTO runs

// Row conversions. F16 and BF16 travel as their raw 16-bit patterns.
// F32 -> F16 rounds to nearest, ties to even (as F16C's cvtps2ph with imm 0); overflow gives +-inf;
// a NaN stays NaN, quiet, with the top 9 payload bits kept (what F16C and AArch64 FCVT do).
// F16 -> F32 is exact; a NaN comes out quiet with its payload kept.
// F32 -> BF16 rounds to nearest even on the bit pattern (subnormals kept, not flushed); a NaN is
// truncated and made quiet (bit 6 set), as ggml's fp32->bf16. BF16 -> F32 is exact (a 16-bit shift).
int fabric_f16_to_f32(int variant, const uint16_t* x, float* y, int64_t n);
int fabric_f32_to_f16(int variant, const float* x, uint16_t* y, int64_t n);
int fabric_bf16_to_f32(int variant, const uint16_t* x, float* y, int64_t n);
int fabric_f32_to_bf16(int variant, const float* x, uint16_t* y, int64_t n);

// Vector primitives. The dot products accumulate in F32 in several lanes (order differs per variant,
// so results differ within the usual n*eps*sum|x_i*y_i| bound). axpy is y[i] += a*x[i], fused (one
// rounding) in the SIMD variants, multiply-then-add (two roundings) in the generic one. scale is x[i] *= a.
float fabric_dot_f32(int variant, const float* x, const float* y, int64_t n);
float fabric_dot_f16_f32(int variant, const uint16_t* x, const float* y, int64_t n);
float fabric_dot_bf16_f32(int variant, const uint16_t* x, const float* y, int64_t n);
int fabric_axpy_f32(int variant, float a, const float* x, float* y, int64_t n);
int fabric_scale_f32(int variant, float a, float* x, int64_t n);

#ifdef __cplusplus
}
#endif

#ifdef __cplusplus
// CPU feature detection, the one implementation: the FABRIC_ISA_* bits of this CPU. fabric_cpu_features (the
// CpuNative library's export) returns it; the ops and training libraries, which are separate shared objects, call
// it for their own variant choice. libgcc's checks include the OS enabling the AVX / AVX-512 register state (XGETBV).
static inline int fabric_cpu_detect_isa(void) {
    int f = 0;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c"))
        f |= FABRIC_ISA_AVX2;
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl")) f |= FABRIC_ISA_AVX512;
    if (__builtin_cpu_supports("avx512bf16")) f |= FABRIC_ISA_AVX512_BF16;
    if (__builtin_cpu_supports("avx512vnni")) f |= FABRIC_ISA_AVX512_VNNI;
#elif defined(__aarch64__)
    f |= FABRIC_ISA_NEON;
#endif
    return f;
}
#endif
