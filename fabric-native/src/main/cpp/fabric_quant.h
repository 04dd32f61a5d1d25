// Fabric quantization kernels: the C surface bound to Java by dev.fabric.backend.cpu.QuantNative.
// Block formats and algorithms follow llama.cpp's ggml (see shared/specs/quantization.md sections 2-3);
// the quantizers reproduce llama-quantize's x86-64 bytes, so this file must be built with
// -ffp-contract=off and without -ffast-math.
#pragma once
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// Type ids are ggml's (ggml_type): the same numbers GGUF tensor infos carry.
enum {
    FABRIC_QT_Q4_0 = 2,
    FABRIC_QT_Q4_1 = 3,
    FABRIC_QT_Q5_0 = 6,
    FABRIC_QT_Q5_1 = 7,
    FABRIC_QT_Q8_0 = 8,
    FABRIC_QT_Q2_K = 10,
    FABRIC_QT_Q3_K = 11,
    FABRIC_QT_Q4_K = 12,
    FABRIC_QT_Q5_K = 13,
    FABRIC_QT_Q6_K = 14,
    FABRIC_QT_IQ4_NL = 20,
    FABRIC_QT_IQ4_XS = 23,
};

// Errors returned (negative) by the calls below.
enum {
    FABRIC_QERR_TYPE = -1,   // type id not supported
    FABRIC_QERR_SHAPE = -2,  // ncols not a multiple of the block size, or negative sizes
};

// Elements per block and bytes per block of a type; 0 if the type is not supported.
int fabric_quant_block_elems(int type);
int fabric_quant_block_bytes(int type);

// Quantizes nrows rows of ncols floats (row-major, contiguous) into dst (nrows * ncols/block * bytes).
// imatrix: per-column importance weights (ncols floats, reused for every row) or NULL. With NULL the
// reference path of the type is used, otherwise the weighted path (as ggml's quantize_<type> chooses).
// Rows are split across nthreads threads (<= 0: all hardware threads); the bytes never depend on it.
// Returns the bytes written, or a FABRIC_QERR_* code.
int64_t fabric_quantize(int type, const float* src, int64_t nrows, int64_t ncols, const float* imatrix,
                        void* dst, int nthreads);

// As fabric_quantize, from F32 (src_type 0), F16 (1) or BF16 (30) rows: each row is decoded exactly into a
// per-thread buffer and quantized, so no full F32 copy of the tensor is needed. Same bytes as decoding the
// whole tensor first. Returns FABRIC_QERR_TYPE for another src_type.
int64_t fabric_quantize_from(int type, int src_type, const void* src, int64_t nrows, int64_t ncols,
                             const float* imatrix, void* dst, int nthreads);

// Dequantizes nrows rows of ncols elements of blocks of the type into floats. Returns the floats
// written, or a FABRIC_QERR_* code. Any bit pattern is accepted (fp16 NaN/Inf scales propagate).
int64_t fabric_dequantize(int type, const void* src, int64_t nrows, int64_t ncols, float* dst, int nthreads);

// Dequantize variants. The quantizers are scalar only (their bytes are defined by scalar float code).
enum { FABRIC_DQ_SCALAR = 0, FABRIC_DQ_AVX2 = 1, FABRIC_DQ_AVX512 = 2 };

// Lets the dequantizers use the instruction sets in isa_bits (FABRIC_ISA_* of fabric_cpu.h, normally
// fabric_cpu_features()); 0 forces the scalar build. Returns the FABRIC_DQ_* variant now in use. Every
// variant gives the same floats. Until called, the scalar build runs.
int fabric_quant_set_isa(int isa_bits);

// Exact conversions used to feed the quantizers (GGUF F16/BF16 sources) and to test fp16 rounding.
void fabric_quant_f16_to_f32(const uint16_t* src, float* dst, int64_t n);
void fabric_quant_bf16_to_f32(const uint16_t* src, float* dst, int64_t n);
void fabric_quant_f32_to_f16(const float* src, uint16_t* dst, int64_t n);

#ifdef __cplusplus
}
#endif
