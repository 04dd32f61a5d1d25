// CPU feature detection and the run-time choice of kernel variant; the exported C entry points of
// fabric_cpu.h. The variant files come before this one in CpuNative's include list (one translation unit).
#include "fabric_cpu.h"
#include "fabric_kernels.h"

#include <math.h>

int fabric_cpu_features(void) { return fabric_cpu_detect_isa(); }

namespace {

const fabric::Kernels* const kTables[FABRIC_VARIANT_COUNT] = {
    &fabric::kGenericKernels,
#if defined(__x86_64__) || defined(__i386__)
    &fabric::kAvx2Kernels,
    &fabric::kAvx512Kernels,
#else
    nullptr,
    nullptr,
#endif
#if defined(__aarch64__)
    &fabric::kNeonKernels,
#else
    nullptr,
#endif
};

int detect_available() {
    const int isa = fabric_cpu_features();
    int v = 1 << FABRIC_VARIANT_GENERIC;
    if (kTables[FABRIC_VARIANT_AVX2] && (isa & FABRIC_ISA_AVX2)) v |= 1 << FABRIC_VARIANT_AVX2;
    // The AVX-512 kernels also use F16C/FMA encodings; every AVX-512 CPU has AVX2+FMA+F16C.
    if (kTables[FABRIC_VARIANT_AVX512] && (isa & FABRIC_ISA_AVX512) && (isa & FABRIC_ISA_AVX2))
        v |= 1 << FABRIC_VARIANT_AVX512;
    if (kTables[FABRIC_VARIANT_NEON] && (isa & FABRIC_ISA_NEON)) v |= 1 << FABRIC_VARIANT_NEON;
    return v;
}

int available_mask() {
    static const int mask = detect_available();  // thread-safe one-time initialisation (C++11)
    return mask;
}

const fabric::Kernels* table_for(int variant) {
    if (variant == FABRIC_VARIANT_AUTO) variant = fabric_variant_best();
    if (variant < 0 || variant >= FABRIC_VARIANT_COUNT || !(available_mask() & (1 << variant))) return nullptr;
    return kTables[variant];
}

}  // namespace

int fabric_variants_compiled(void) {
    int v = 0;
    for (int i = 0; i < FABRIC_VARIANT_COUNT; i++)
        if (kTables[i]) v |= 1 << i;
    return v;
}

int fabric_variants_available(void) {
    return available_mask();
}

int fabric_variant_best(void) {
    const int v = available_mask();
    if (v & (1 << FABRIC_VARIANT_AVX512)) return FABRIC_VARIANT_AVX512;
    if (v & (1 << FABRIC_VARIANT_AVX2)) return FABRIC_VARIANT_AVX2;
    if (v & (1 << FABRIC_VARIANT_NEON)) return FABRIC_VARIANT_NEON;
    return FABRIC_VARIANT_GENERIC;
}

#define FABRIC_RUN(call)                          \
    const fabric::Kernels* k = table_for(variant); \
    if (!k) return FABRIC_ERR_VARIANT;             \
    if (n > 0) k->call;                            \
    return FABRIC_OK;

#define FABRIC_DOT(call)                           \
    const fabric::Kernels* k = table_for(variant); \
    if (!k) return NAN;                            \
    return n > 0 ? k->call : 0.0f;

int fabric_f16_to_f32(int variant, const uint16_t* x, float* y, int64_t n) { FABRIC_RUN(f16_to_f32(x, y, n)) }
int fabric_f32_to_f16(int variant, const float* x, uint16_t* y, int64_t n) { FABRIC_RUN(f32_to_f16(x, y, n)) }
int fabric_bf16_to_f32(int variant, const uint16_t* x, float* y, int64_t n) { FABRIC_RUN(bf16_to_f32(x, y, n)) }
int fabric_f32_to_bf16(int variant, const float* x, uint16_t* y, int64_t n) { FABRIC_RUN(f32_to_bf16(x, y, n)) }
float fabric_dot_f32(int variant, const float* x, const float* y, int64_t n) { FABRIC_DOT(dot_f32(x, y, n)) }
float fabric_dot_f16_f32(int variant, const uint16_t* x, const float* y, int64_t n) { FABRIC_DOT(dot_f16_f32(x, y, n)) }
float fabric_dot_bf16_f32(int variant, const uint16_t* x, const float* y, int64_t n) { FABRIC_DOT(dot_bf16_f32(x, y, n)) }
int fabric_axpy_f32(int variant, float a, const float* x, float* y, int64_t n) { FABRIC_RUN(axpy_f32(a, x, y, n)) }
int fabric_scale_f32(int variant, float a, float* x, int64_t n) { FABRIC_RUN(scale_f32(a, x, n)) }

#undef FABRIC_RUN
#undef FABRIC_DOT
