// Dequantizers: block bytes -> floats, in ggml's product order (dequantize_row_*), so the engine reads
// weights exactly as llama.cpp does. One scalar build plus AVX2 and AVX-512 builds of the same bodies
// (fabric_quant_dequant.inc; AVX2 hand-vectorizes five formats in fabric_quant_dequant_avx2.inc), chosen at run time from the ISA bits Java passes in (fabric_cpu_features()).
#include <atomic>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "fabric_cpu.h"
#include "fabric_quant_common.h"

namespace fq {

namespace dq_scalar {
#include "fabric_quant_dequant.inc"
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)  // GCC target pragmas
#define FQ_HAVE_X86_VARIANTS 1
#pragma GCC push_options
#pragma GCC target("avx2,f16c")
namespace dq_avx2 {
namespace gen {
#include "fabric_quant_dequant.inc"
}
using gen::dq_half;
#include "fabric_quant_dequant_avx2.inc"
}
#pragma GCC pop_options
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512dq,avx512vl")
namespace dq_avx512 {
#include "fabric_quant_dequant.inc"
}
#pragma GCC pop_options
#endif

namespace {

std::atomic<int> g_variant{0};

#define FQ_TABLE(ns) \
    DequantFn ns##_fn(int type) { \
        switch (type) { \
            case FABRIC_QT_Q4_0: return ns::dq_q4_0; \
            case FABRIC_QT_Q4_1: return ns::dq_q4_1; \
            case FABRIC_QT_Q5_0: return ns::dq_q5_0; \
            case FABRIC_QT_Q5_1: return ns::dq_q5_1; \
            case FABRIC_QT_Q8_0: return ns::dq_q8_0; \
            case FABRIC_QT_Q2_K: return ns::dq_q2_k; \
            case FABRIC_QT_Q3_K: return ns::dq_q3_k; \
            case FABRIC_QT_Q4_K: return ns::dq_q4_k; \
            case FABRIC_QT_Q5_K: return ns::dq_q5_k; \
            case FABRIC_QT_Q6_K: return ns::dq_q6_k; \
            case FABRIC_QT_IQ4_NL: return ns::dq_iq4_nl; \
            case FABRIC_QT_IQ4_XS: return ns::dq_iq4_xs; \
            default: return nullptr; \
        } \
    }

FQ_TABLE(dq_scalar)
#ifdef FQ_HAVE_X86_VARIANTS
FQ_TABLE(dq_avx2)
FQ_TABLE(dq_avx512)
#endif

}  // namespace

DequantFn dequant_fn(int type) {
#ifdef FQ_HAVE_X86_VARIANTS
    switch (g_variant.load(std::memory_order_relaxed)) {
        case FABRIC_DQ_AVX512: return dq_avx512_fn(type);
        case FABRIC_DQ_AVX2: return dq_avx2_fn(type);
        default: break;
    }
#endif
    return dq_scalar_fn(type);
}

}  // namespace fq

extern "C" int fabric_quant_set_isa(int isa_bits) {
    int v = FABRIC_DQ_SCALAR;
#ifdef FQ_HAVE_X86_VARIANTS
    if (isa_bits & FABRIC_ISA_AVX512) v = FABRIC_DQ_AVX512;
    else if (isa_bits & FABRIC_ISA_AVX2) v = FABRIC_DQ_AVX2;
#else
    (void)isa_bits;
#endif
    fq::g_variant.store(v, std::memory_order_relaxed);
    return v;
}
