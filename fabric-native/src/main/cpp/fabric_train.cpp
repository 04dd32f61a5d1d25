// Fabric training kernels (see fabric_train.h). Layout: fixed task grids on the shared pool (fabric_pool.h), the
// weight-row reader (stored type -> F32 scratch), the GEMM micro-kernel shared by both matmul gradients, then
// one section per op's backward.
#include "fabric_train.h"

#include "fabric_pool.h"

#include "fabric_cpu.h"
#include "fabric_quant_common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__x86_64__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wpsabi"
#include <immintrin.h>
#define FT_X86 1
#endif

namespace {

// body(task) for task in [0, n_tasks).
template <class F>
void run_tasks(int64_t n_tasks, int threads, F&& body) {
    if (n_tasks <= 0) return;
    pool().run(n_tasks, threads, [](void* c, int64_t t) { (*(F*)c)(t); }, &body);
}

// body(begin, end) over [0, n) in fixed chunks of `chunk`.
template <class F>
void for_chunks(int64_t n, int64_t chunk, int threads, F&& body) {
    chunk = std::max<int64_t>(1, chunk);
    run_tasks((n + chunk - 1) / chunk, threads, [&](int64_t t) { body(t * chunk, std::min(n, (t + 1) * chunk)); });
}

// Variant cap (fabric_train_set_variant): 0 portable, 1 up to AVX2, 2 up to AVX-512. Tests run each one.
std::atomic<int> g_cap{2};

#if FT_X86
bool cpu_has_avx512() {
    static const bool yes = [] {
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
    }();
    return yes;
}
bool cpu_has_avx2() {
    static const bool yes = [] {
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
    }();
    return yes;
}
bool cpu_avx512() { return g_cap.load(std::memory_order_relaxed) >= 2 && cpu_has_avx512(); }
bool cpu_avx2() { return g_cap.load(std::memory_order_relaxed) >= 1 && cpu_has_avx2(); }
#endif

// ---------------------------------------------------------------------------------------------------------
// Weight rows in their stored type -> F32.

constexpr int T_F32 = 0, T_F16 = 1, T_BF16 = 30;

int64_t block_elems(int32_t type) {
    if (type == T_F32 || type == T_F16 || type == T_BF16) return 1;
    return fq::block_elems(type);
}

int64_t block_bytes(int32_t type) {
    if (type == T_F32) return 4;
    if (type == T_F16 || type == T_BF16) return 2;
    return fq::block_bytes(type);
}

fq::DequantFn dequant(int32_t type) {
    static const bool isa_set = [] {
        int bits = 0;
#if FT_X86
        if (cpu_has_avx2()) bits |= FABRIC_ISA_AVX2;
        if (cpu_has_avx512()) bits |= FABRIC_ISA_AVX512;
#endif
        fabric_quant_set_isa(bits);
        return true;
    }();
    (void)isa_set;
    return fq::dequant_fn(type);
}

#if FT_X86
__attribute__((target("avx512f"))) void f16_row_avx512(const uint16_t* h, int64_t n, float* y);
__attribute__((target("avx2,f16c"))) void f16_row_avx2(const uint16_t* h, int64_t n, float* y);
#endif

// Elements [k0, k1) of one weight row (k0, k1 multiples of the block size) into dst.
void read_row(int32_t type, const uint8_t* row, int64_t k0, int64_t k1, float* dst) {
    switch (type) {
        case T_F32: memcpy(dst, (const float*)row + k0, (size_t)(k1 - k0) * 4); return;
        case T_F16: {
            const uint16_t* h = (const uint16_t*)row + k0;
#if FT_X86
            if (cpu_avx512()) return f16_row_avx512(h, k1 - k0, dst);
            if (cpu_avx2()) return f16_row_avx2(h, k1 - k0, dst);
#endif
            for (int64_t i = 0; i < k1 - k0; i++) dst[i] = fq::half_to_float(h[i]);
            return;
        }
        case T_BF16: {
            const uint16_t* h = (const uint16_t*)row + k0;
            for (int64_t i = 0; i < k1 - k0; i++) {
                const uint32_t u = (uint32_t)h[i] << 16;
                memcpy(dst + i, &u, 4);
            }
            return;
        }
        default: {
            const int64_t be = fq::block_elems(type), bb = fq::block_bytes(type);
            dequant(type)(row + k0 / be * bb, dst, (k1 - k0) / be);
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// The GEMM micro-kernel of both matmul gradients: C[i, c] += sum_j A(i, j) * B[j, c] for i < rows, c < cols,
// j < depth, with A(i, j) = a[i * sai + j * saj] and B row stride ldb, C row stride ldc. Each C element is one
// FMA chain over j in order from its old value, so the vector and scalar paths give the same bits.

void gemm_acc_scalar(const float* a, int64_t sai, int64_t saj, const float* b, int64_t ldb, float* c, int64_t ldc,
                     int64_t rows, int64_t cols, int64_t depth) {
    for (int64_t i = 0; i < rows; i++)
        for (int64_t x = 0; x < cols; x++) {
            float acc = c[i * ldc + x];
            for (int64_t j = 0; j < depth; j++) acc = fmaf(a[i * sai + j * saj], b[j * ldb + x], acc);
            c[i * ldc + x] = acc;
        }
}

#if FT_X86
template <int R>
__attribute__((target("avx512f"))) void tile_avx512(const float* a, int64_t sai, int64_t saj, const float* b,
                                                    int64_t ldb, float* c, int64_t ldc, int64_t cols, int64_t depth) {
    // R rows x 64 columns (four 16-lane vectors, masked at the edge)
    __mmask16 m[4];
    for (int v = 0; v < 4; v++) {
        const int64_t left = cols - 16 * v;
        m[v] = left >= 16 ? (__mmask16)0xffff : left <= 0 ? (__mmask16)0 : (__mmask16)((1u << left) - 1);
    }
    __m512 acc[R][4];
    for (int i = 0; i < R; i++)
        for (int v = 0; v < 4; v++) acc[i][v] = _mm512_maskz_loadu_ps(m[v], c + i * ldc + 16 * v);
    for (int64_t j = 0; j < depth; j++) {
        const float* bj = b + j * ldb;
        __m512 w[4];
        for (int v = 0; v < 4; v++) w[v] = _mm512_maskz_loadu_ps(m[v], bj + 16 * v);
        for (int i = 0; i < R; i++) {
            const __m512 s = _mm512_set1_ps(a[i * sai + j * saj]);
            for (int v = 0; v < 4; v++) acc[i][v] = _mm512_fmadd_ps(s, w[v], acc[i][v]);
        }
    }
    for (int i = 0; i < R; i++)
        for (int v = 0; v < 4; v++) _mm512_mask_storeu_ps(c + i * ldc + 16 * v, m[v], acc[i][v]);
}

// The hot case: 4 rows x 64 columns, full width, accumulators as named registers (GCC keeps an array of
// vectors on the stack here, storing all 16 every iteration).
__attribute__((target("avx512f"))) void tile4x64_avx512(const float* a, int64_t sai, int64_t saj, const float* b,
                                                       int64_t ldb, float* c, int64_t ldc, int64_t depth) {
#define FT_LD(i, v) __m512 c##i##v = _mm512_loadu_ps(c + i * ldc + 16 * v)
    FT_LD(0, 0); FT_LD(0, 1); FT_LD(0, 2); FT_LD(0, 3);
    FT_LD(1, 0); FT_LD(1, 1); FT_LD(1, 2); FT_LD(1, 3);
    FT_LD(2, 0); FT_LD(2, 1); FT_LD(2, 2); FT_LD(2, 3);
    FT_LD(3, 0); FT_LD(3, 1); FT_LD(3, 2); FT_LD(3, 3);
#undef FT_LD
    const float* a0 = a;
    const float* a1 = a + sai;
    const float* a2 = a + 2 * sai;
    const float* a3 = a + 3 * sai;
    for (int64_t j = 0; j < depth; j++) {
        const float* bj = b + j * ldb;
        const __m512 w0 = _mm512_loadu_ps(bj), w1 = _mm512_loadu_ps(bj + 16), w2 = _mm512_loadu_ps(bj + 32),
                     w3 = _mm512_loadu_ps(bj + 48);
        const int64_t o = j * saj;
#define FT_ROW(i)                                           \
    {                                                       \
        const __m512 s = _mm512_set1_ps(a##i[o]);           \
        c##i##0 = _mm512_fmadd_ps(s, w0, c##i##0);          \
        c##i##1 = _mm512_fmadd_ps(s, w1, c##i##1);          \
        c##i##2 = _mm512_fmadd_ps(s, w2, c##i##2);          \
        c##i##3 = _mm512_fmadd_ps(s, w3, c##i##3);          \
    }
        FT_ROW(0) FT_ROW(1) FT_ROW(2) FT_ROW(3)
#undef FT_ROW
    }
#define FT_ST(i, v) _mm512_storeu_ps(c + i * ldc + 16 * v, c##i##v)
    FT_ST(0, 0); FT_ST(0, 1); FT_ST(0, 2); FT_ST(0, 3);
    FT_ST(1, 0); FT_ST(1, 1); FT_ST(1, 2); FT_ST(1, 3);
    FT_ST(2, 0); FT_ST(2, 1); FT_ST(2, 2); FT_ST(2, 3);
    FT_ST(3, 0); FT_ST(3, 1); FT_ST(3, 2); FT_ST(3, 3);
#undef FT_ST
}

// 4 rows x up to 16 columns (one masked vector): the narrow side of LoRA's gradients (rank columns).
__attribute__((target("avx512f"))) void tile4x16_avx512(const float* a, int64_t sai, int64_t saj, const float* b,
                                                       int64_t ldb, float* c, int64_t ldc, int64_t cols,
                                                       int64_t depth) {
    const __mmask16 m = cols >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << cols) - 1);
    __m512 c0 = _mm512_maskz_loadu_ps(m, c), c1 = _mm512_maskz_loadu_ps(m, c + ldc),
           c2 = _mm512_maskz_loadu_ps(m, c + 2 * ldc), c3 = _mm512_maskz_loadu_ps(m, c + 3 * ldc);
    const float *a0 = a, *a1 = a + sai, *a2 = a + 2 * sai, *a3 = a + 3 * sai;
    for (int64_t j = 0; j < depth; j++) {
        const __m512 w = _mm512_maskz_loadu_ps(m, b + j * ldb);
        const int64_t o = j * saj;
        c0 = _mm512_fmadd_ps(_mm512_set1_ps(a0[o]), w, c0);
        c1 = _mm512_fmadd_ps(_mm512_set1_ps(a1[o]), w, c1);
        c2 = _mm512_fmadd_ps(_mm512_set1_ps(a2[o]), w, c2);
        c3 = _mm512_fmadd_ps(_mm512_set1_ps(a3[o]), w, c3);
    }
    _mm512_mask_storeu_ps(c, m, c0);
    _mm512_mask_storeu_ps(c + ldc, m, c1);
    _mm512_mask_storeu_ps(c + 2 * ldc, m, c2);
    _mm512_mask_storeu_ps(c + 3 * ldc, m, c3);
}

template <int R>
__attribute__((target("avx2,fma"))) void tile_avx2(const float* a, int64_t sai, int64_t saj, const float* b,
                                                  int64_t ldb, float* c, int64_t ldc, int64_t depth) {
    // R rows x 32 columns, full width only (the caller sends edges to the scalar path)
    __m256 acc[R][4];
    for (int i = 0; i < R; i++)
        for (int v = 0; v < 4; v++) acc[i][v] = _mm256_loadu_ps(c + i * ldc + 8 * v);
    for (int64_t j = 0; j < depth; j++) {
        const float* bj = b + j * ldb;
        __m256 w[4];
        for (int v = 0; v < 4; v++) w[v] = _mm256_loadu_ps(bj + 8 * v);
        for (int i = 0; i < R; i++) {
            const __m256 s = _mm256_set1_ps(a[i * sai + j * saj]);
            for (int v = 0; v < 4; v++) acc[i][v] = _mm256_fmadd_ps(s, w[v], acc[i][v]);
        }
    }
    for (int i = 0; i < R; i++)
        for (int v = 0; v < 4; v++) _mm256_storeu_ps(c + i * ldc + 8 * v, acc[i][v]);
}
#endif

void gemm_acc(const float* a, int64_t sai, int64_t saj, const float* b, int64_t ldb, float* c, int64_t ldc,
              int64_t rows, int64_t cols, int64_t depth) {
#if FT_X86
    if (cpu_avx512()) {
        for (int64_t x = 0; x < cols; x += 64) {
            const int64_t cw = std::min<int64_t>(64, cols - x);
            int64_t i = 0;
            for (; i + 4 <= rows; i += 4) {
                if (cw == 64) tile4x64_avx512(a + i * sai, sai, saj, b + x, ldb, c + i * ldc + x, ldc, depth);
                else if (cw <= 16) tile4x16_avx512(a + i * sai, sai, saj, b + x, ldb, c + i * ldc + x, ldc, cw, depth);
                else tile_avx512<4>(a + i * sai, sai, saj, b + x, ldb, c + i * ldc + x, ldc, cw, depth);
            }
            for (; i < rows; i++) tile_avx512<1>(a + i * sai, sai, saj, b + x, ldb, c + i * ldc + x, ldc, cw, depth);
        }
        return;
    }
    if (cpu_avx2()) {
        int64_t x = 0;
        for (; x + 32 <= cols; x += 32) {
            int64_t i = 0;
            for (; i + 3 <= rows; i += 3) tile_avx2<3>(a + i * sai, sai, saj, b + x, ldb, c + i * ldc + x, ldc, depth);
            for (; i < rows; i++) tile_avx2<1>(a + i * sai, sai, saj, b + x, ldb, c + i * ldc + x, ldc, depth);
        }
        if (x < cols) gemm_acc_scalar(a, sai, saj, b + x, ldb, c + x, ldc, rows, cols - x, depth);
        return;
    }
#endif
    gemm_acc_scalar(a, sai, saj, b, ldb, c, ldc, rows, cols, depth);
}

// Fixed partitioning of the matmul gradients (independent of the thread count).
constexpr int64_t kColChunk = 256;  // k columns per task (rounded up to whole weight blocks)
constexpr int64_t kRowChunk = 256;  // output rows per task
constexpr int64_t kDepth = 64;      // weight rows read into scratch at a time

// Dot product and axpy of attention rows. The vector builds keep 16 (8) partial sums and add them in a fixed
// tree; results depend on the variant, never on the thread count.
float dot_scalar(const float* a, const float* b, int64_t n) {
    float s = 0.0f;
    for (int64_t i = 0; i < n; i++) s = fmaf(a[i], b[i], s);
    return s;
}

void axpy_scalar(float s, const float* x, float* y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = fmaf(s, x[i], y[i]);
}

#if FT_X86
__attribute__((target("avx512f"))) float dot_avx512(const float* a, const float* b, int64_t n) {
    __m512 acc = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) acc = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc);
    if (i < n) {
        const __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), acc);
    }
    return _mm512_reduce_add_ps(acc);
}

__attribute__((target("avx512f"))) void axpy_avx512(float s, const float* x, float* y, int64_t n) {
    const __m512 vs = _mm512_set1_ps(s);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, _mm512_fmadd_ps(vs, _mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i)));
    if (i < n) {
        const __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        _mm512_mask_storeu_ps(y + i, m, _mm512_fmadd_ps(vs, _mm512_maskz_loadu_ps(m, x + i), _mm512_maskz_loadu_ps(m, y + i)));
    }
}

__attribute__((target("avx2,fma"))) float dot_avx2(const float* a, const float* b, int64_t n) {
    __m256 acc = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc);
    float lanes[8];
    _mm256_storeu_ps(lanes, acc);
    float s = ((lanes[0] + lanes[4]) + (lanes[2] + lanes[6])) + ((lanes[1] + lanes[5]) + (lanes[3] + lanes[7]));
    for (; i < n; i++) s = fmaf(a[i], b[i], s);
    return s;
}

__attribute__((target("avx2,fma"))) void axpy_avx2(float s, const float* x, float* y, int64_t n) {
    const __m256 vs = _mm256_set1_ps(s);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_fmadd_ps(vs, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
    for (; i < n; i++) y[i] = fmaf(s, x[i], y[i]);
}

__attribute__((target("avx512f"))) void f16_row_avx512(const uint16_t* h, int64_t n, float* y) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i*)(h + i))));
    for (; i < n; i++) y[i] = fq::half_to_float(h[i]);
}

__attribute__((target("avx2,f16c"))) void f16_row_avx2(const uint16_t* h, int64_t n, float* y) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i*)(h + i))));
    for (; i < n; i++) y[i] = fq::half_to_float(h[i]);
}
#endif

float dot(const float* a, const float* b, int64_t n) {
#if FT_X86
    if (cpu_avx512()) return dot_avx512(a, b, n);
    if (cpu_avx2()) return dot_avx2(a, b, n);
#endif
    return dot_scalar(a, b, n);
}

void axpy(float s, const float* x, float* y, int64_t n) {
#if FT_X86
    if (cpu_avx512()) return axpy_avx512(s, x, y, n);
    if (cpu_avx2()) return axpy_avx2(s, x, y, n);
#endif
    axpy_scalar(s, x, y, n);
}

uint64_t splitmix64(uint64_t z) {
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

}  // namespace

extern "C" {

int32_t fabric_train_set_variant(int32_t cap) {
    g_cap.store(cap < 0 ? 0 : cap > 2 ? 2 : cap);
#if FT_X86
    return cpu_avx512() ? 2 : cpu_avx2() ? 1 : 0;
#else
    return 0;
#endif
}

// ---- matmul ----------------------------------------------------------------------------------------------

int32_t fabric_train_matmul_backward_x(int32_t wtype, const void* w, int64_t n, int64_t k, const float* dy,
                                       int64_t m, float* dx, int32_t accumulate, int32_t threads) {
    const int64_t be = block_elems(wtype), bb = block_bytes(wtype);
    if (be <= 0 || bb <= 0 || (wtype != T_F32 && wtype != T_F16 && wtype != T_BF16 && dequant(wtype) == nullptr))
        return -1;
    const int64_t row_bytes = k / be * bb;
    const int64_t kc = (kColChunk + be - 1) / be * be;
    const int64_t n_kc = (k + kc - 1) / kc, n_mc = (m + kRowChunk - 1) / kRowChunk;
    const uint8_t* wb = (const uint8_t*)w;
    run_tasks(n_kc * n_mc, threads, [&](int64_t task) {
        const int64_t k0 = task % n_kc * kc, k1 = std::min(k, k0 + kc), kw = k1 - k0;
        const int64_t m0 = task / n_kc * kRowChunk, m1 = std::min(m, m0 + kRowChunk);
        if (!accumulate)
            for (int64_t r = m0; r < m1; r++) memset(dx + r * k + k0, 0, (size_t)kw * 4);
        if (wtype == T_F32) {
            for (int64_t j0 = 0; j0 < n; j0 += kDepth)
                gemm_acc(dy + m0 * n + j0, n, 1, (const float*)w + j0 * k + k0, k, dx + m0 * k + k0, k, m1 - m0, kw,
                         std::min(kDepth, n - j0));
            return;
        }
        thread_local std::vector<float> scratch;
        scratch.resize((size_t)(kDepth * kw));
        for (int64_t j0 = 0; j0 < n; j0 += kDepth) {
            const int64_t depth = std::min(kDepth, n - j0);
            for (int64_t j = 0; j < depth; j++) read_row(wtype, wb + (j0 + j) * row_bytes, k0, k1, scratch.data() + j * kw);
            gemm_acc(dy + m0 * n + j0, n, 1, scratch.data(), kw, dx + m0 * k + k0, k, m1 - m0, kw, depth);
        }
    });
    return 0;
}

void fabric_train_matmul_backward_w(const float* x, int64_t m, int64_t k, const float* dy, int64_t n, float* dw,
                                    int32_t threads) {
    const int64_t n_kc = (k + kColChunk - 1) / kColChunk, nc = 64, n_nc = (n + nc - 1) / nc;
    run_tasks(n_kc * n_nc, threads, [&](int64_t task) {
        const int64_t k0 = task % n_kc * kColChunk, k1 = std::min(k, k0 + kColChunk);
        const int64_t n0 = task / n_kc * nc, n1 = std::min(n, n0 + nc);
        // dw[i, c] += sum_r dy[r, i] x[r, c]: A(i, r) = dy[r * n + i]
        gemm_acc(dy + n0, 1, n, x + k0, k, dw + n0 * k + k0, k, n1 - n0, k1 - k0, m);
    });
}

// ---- rms_norm --------------------------------------------------------------------------------------------

void fabric_train_rms_norm_backward(const float* x, const float* dy, int64_t rows, int64_t n, float eps, float* dx,
                                    int32_t threads) {
    for_chunks(rows, std::max<int64_t>(1, 4096 / std::max<int64_t>(n, 1)), threads, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; r++) {
            const float* xr = x + r * n;
            const float* gr = dy + r * n;
            double ss = 0, sd = 0;
            for (int64_t i = 0; i < n; i++) {
                ss += (double)xr[i] * xr[i];
                sd += (double)gr[i] * xr[i];
            }
            const double inv = 1.0 / sqrt(ss / (double)n + (double)eps);
            const double c = inv * inv * inv * sd / (double)n;
            float* o = dx + r * n;
            for (int64_t i = 0; i < n; i++) o[i] = (float)(inv * gr[i] - c * xr[i]);
        }
    });
}

// ---- mul / add (the broadcast operand's gradient) --------------------------------------------------------

void fabric_train_column_sum(const float* a, const float* b, int64_t rows, int64_t n, float* out, int32_t threads) {
    for_chunks(n, 64, threads, [&](int64_t c0, int64_t c1) {
        float acc[64];
        for (int64_t c = c0; c < c1; c++) acc[c - c0] = out[c];
        for (int64_t r = 0; r < rows; r++) {
            const float* ar = a + r * n;
            if (b) {
                const float* br = b + r * n;
                for (int64_t c = c0; c < c1; c++) acc[c - c0] = fmaf(ar[c], br[c], acc[c - c0]);
            } else {
                for (int64_t c = c0; c < c1; c++) acc[c - c0] += ar[c];
            }
        }
        for (int64_t c = c0; c < c1; c++) out[c] = acc[c - c0];
    });
}

// ---- softmax ---------------------------------------------------------------------------------------------

void fabric_train_softmax_backward(const float* y, const float* dy, int64_t rows, int64_t n, float* dx,
                                   int32_t threads) {
    for_chunks(rows, std::max<int64_t>(1, 4096 / std::max<int64_t>(n, 1)), threads, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; r++) {
            const float* yr = y + r * n;
            const float* gr = dy + r * n;
            double s = 0;
            for (int64_t i = 0; i < n; i++) s += (double)yr[i] * gr[i];
            for (int64_t i = 0; i < n; i++) dx[r * n + i] = (float)(yr[i] * (gr[i] - s));
        }
    });
}

// ---- swiglu ----------------------------------------------------------------------------------------------

void fabric_train_swiglu_backward(const float* gate, const float* up, const float* dy, int64_t n, float* dgate,
                                  float* dup, int32_t threads) {
    for_chunks(n, 1 << 14, threads, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; i++) {
            const float g = gate[i], s = 1.0f / (1.0f + expf(-g));
            const float dg = dy[i] * up[i] * s * (1.0f + g * (1.0f - s));
            const float du = dy[i] * g * s;
            dgate[i] = dg;
            dup[i] = du;
        }
    });
}

// ---- dropout ---------------------------------------------------------------------------------------------

void fabric_train_dropout(const float* x, int64_t n, float p, uint64_t seed, float* y, int32_t threads) {
    const float keep_scale = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
    const uint64_t threshold = (uint64_t)((double)p * 16777216.0);
    const uint64_t s = splitmix64(seed);
    for_chunks(n, 1 << 14, threads, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; i++) {
            const uint64_t u = splitmix64(s ^ (uint64_t)i) >> 40;  // 24 uniform bits
            y[i] = u >= threshold ? x[i] * keep_scale : 0.0f;
        }
    });
}

// ---- get_rows --------------------------------------------------------------------------------------------

void fabric_train_get_rows_backward(const float* dy, const int32_t* ids, int64_t n_ids, int64_t cols, float* dtable,
                                    int64_t n_rows, int32_t threads) {
    for_chunks(cols, 256, threads, [&](int64_t c0, int64_t c1) {
        for (int64_t i = 0; i < n_ids; i++) {
            const int64_t r = ids[i];
            if (r < 0 || r >= n_rows) continue;
            float* o = dtable + r * cols;
            const float* g = dy + i * cols;
            for (int64_t c = c0; c < c1; c++) o[c] += g[c];
        }
    });
}

}  // extern "C"

namespace {

// ---- attention ----------------------------------------------------------------------------------------
//
// Blocks of 16 rows: a task takes 16 queries (forward, dq) or 16 keys (dk, dv) of one head, transposes them
// into a [d][16] scratch, and then meets every key (query) with d multiply-adds on 16 lanes: the scores of a
// block come out as one vector, with no horizontal sums. Bodies are written once (always inlined) and built
// for AVX-512 and for the baseline; each output row is owned by one task.

constexpr int64_t kQueryChunk = 16;
constexpr int L = 16;

struct AttnArgs {
    const float *q, *k, *v;
    const int32_t* seg;
    const float *out, *lse, *dout, *D;
    int64_t t, n_head, n_kv_head, d;
    float scale;
    float *o, *lse_out, *dq, *dk, *dv;
};

inline bool visible(const AttnArgs& a, int64_t b, int64_t i, int64_t j) {
    return j <= i && (!a.seg || a.seg[b * a.t + j] == a.seg[b * a.t + i]);
}

// rows r0.. (n < 16 of them) of x at stride `stride` (floats), d columns, into xt[d][16] (zero-padded)
inline __attribute__((always_inline)) void transpose16(const float* x, int64_t stride, int64_t n, int64_t d, float* xt) {
    for (int64_t e = 0; e < d; e++)
        for (int l = 0; l < L; l++) xt[e * L + l] = l < n ? x[l * stride + e] : 0.0f;
}

// 16 floats as one GCC vector: one zmm in the AVX-512 builds of the bodies, four xmm in the baseline one.
typedef float v16f __attribute__((vector_size(64)));

inline __attribute__((always_inline)) v16f load16(const float* p) {
    v16f v;
    memcpy(&v, p, sizeof v);
    return v;
}

inline __attribute__((always_inline)) void store16(float* p, v16f v) { memcpy(p, &v, sizeof v); }

// acc[l] = sum_e xt[e][l] * y[e], in four interleaved partial sums (e mod 4) so the adds do not wait on each other
inline __attribute__((always_inline)) void matvec16(const float* xt, const float* y, int64_t d, float* acc) {
    v16f a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
    int64_t e = 0;
    for (; e + 4 <= d; e += 4) {
        const float* x = xt + e * L;
        a0 += load16(x) * y[e];
        a1 += load16(x + L) * y[e + 1];
        a2 += load16(x + 2 * L) * y[e + 2];
        a3 += load16(x + 3 * L) * y[e + 3];
    }
    for (; e < d; e++) a0 += load16(xt + e * L) * y[e];
    store16(acc, (a0 + a1) + (a2 + a3));
}

// y += s * x, inlined into the vector builds of the attention bodies (no per-call dispatch)
inline __attribute__((always_inline)) void axpy_inl(float s, const float* x, float* y, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) store16(y + i, load16(y + i) + load16(x + i) * s);
    for (; i < n; i++) y[i] += s * x[i];
}

inline __attribute__((always_inline)) void attn_fwd_body(const AttnArgs& a, int64_t b, int64_t h, int64_t i0) {
    const int64_t g = h / (a.n_head / a.n_kv_head), d = a.d, i1 = std::min(a.t, i0 + L), nq = i1 - i0;
    const int64_t qs = a.n_head * d;
    thread_local std::vector<float> qt, s;
    qt.resize((size_t)(d * L));
    s.resize((size_t)(a.t * L));
    transpose16(a.q + ((b * a.t + i0) * a.n_head + h) * d, qs, nq, d, qt.data());
    float acc[L];
    for (int64_t j = 0; j < i1; j++) {
        matvec16(qt.data(), a.k + ((b * a.t + j) * a.n_kv_head + g) * d, d, acc);
        for (int l = 0; l < L; l++)
            s[j * L + l] = l < nq && visible(a, b, i0 + l, j) ? acc[l] * a.scale : -INFINITY;
    }
    for (int64_t l = 0; l < nq; l++) {
        const int64_t i = i0 + l, row = b * a.t + i;
        float mx = -INFINITY;
        for (int64_t j = 0; j <= i; j++) mx = std::max(mx, s[j * L + l]);
        float sum = 0.0f;
        for (int64_t j = 0; j <= i; j++) {
            const float x = s[j * L + l];
            sum += (s[j * L + l] = x == -INFINITY ? 0.0f : expf(x - mx));
        }
        float* o = a.o + (row * a.n_head + h) * d;
        memset(o, 0, (size_t)d * 4);
        const float inv = 1.0f / sum;
        for (int64_t j = 0; j <= i; j++)
            if (s[j * L + l] != 0.0f) axpy_inl(s[j * L + l] * inv, a.v + ((b * a.t + j) * a.n_kv_head + g) * d, o, d);
        a.lse_out[row * a.n_head + h] = mx + logf(sum);
    }
}

inline __attribute__((always_inline)) void attn_dq_body(const AttnArgs& a, int64_t b, int64_t h, int64_t i0) {
    const int64_t g = h / (a.n_head / a.n_kv_head), d = a.d, i1 = std::min(a.t, i0 + L), nq = i1 - i0;
    const int64_t qs = a.n_head * d;
    thread_local std::vector<float> qt, gt;
    qt.resize((size_t)(d * L));
    gt.resize((size_t)(d * L));
    const int64_t r0 = (b * a.t + i0) * a.n_head + h;
    transpose16(a.q + r0 * d, qs, nq, d, qt.data());
    transpose16(a.dout + r0 * d, qs, nq, d, gt.data());
    float lse[L], Dl[L], sc[L], dp[L];
    for (int l = 0; l < L; l++) {
        lse[l] = l < nq ? a.lse[r0 + l * a.n_head] : 0.0f;
        Dl[l] = l < nq ? a.D[r0 + l * a.n_head] : 0.0f;
    }
    for (int64_t l = 0; l < nq; l++) memset(a.dq + (r0 + l * a.n_head) * d, 0, (size_t)d * 4);
    for (int64_t j = 0; j < i1; j++) {
        const float* kj = a.k + ((b * a.t + j) * a.n_kv_head + g) * d;
        matvec16(qt.data(), kj, d, sc);
        matvec16(gt.data(), a.v + ((b * a.t + j) * a.n_kv_head + g) * d, d, dp);
        for (int64_t l = 0; l < nq; l++) {
            if (!visible(a, b, i0 + l, j)) continue;
            const float p = expf(sc[l] * a.scale - lse[l]);
            const float ds = p * (dp[l] - Dl[l]);
            axpy_inl(ds * a.scale, kj, a.dq + (r0 + l * a.n_head) * d, d);
        }
    }
}

inline __attribute__((always_inline)) void attn_dkv_body(const AttnArgs& a, int64_t b, int64_t g, int64_t j0) {
    const int64_t d = a.d, j1 = std::min(a.t, j0 + L), nk = j1 - j0, group = a.n_head / a.n_kv_head;
    const int64_t ks = a.n_kv_head * d;
    thread_local std::vector<float> kt, vt;
    kt.resize((size_t)(d * L));
    vt.resize((size_t)(d * L));
    const int64_t k0 = (b * a.t + j0) * a.n_kv_head + g;
    transpose16(a.k + k0 * d, ks, nk, d, kt.data());
    transpose16(a.v + k0 * d, ks, nk, d, vt.data());
    for (int64_t l = 0; l < nk; l++) {
        memset(a.dk + (k0 + l * a.n_kv_head) * d, 0, (size_t)d * 4);
        memset(a.dv + (k0 + l * a.n_kv_head) * d, 0, (size_t)d * 4);
    }
    float sc[L], dp[L];
    for (int64_t h = g * group; h < (g + 1) * group; h++)
        for (int64_t i = j0; i < a.t; i++) {
            const int64_t qr = (b * a.t + i) * a.n_head + h;
            const float* qi = a.q + qr * d;
            const float* gi = a.dout + qr * d;
            matvec16(kt.data(), qi, d, sc);
            matvec16(vt.data(), gi, d, dp);
            for (int64_t l = 0; l < nk; l++) {
                if (!visible(a, b, i, j0 + l)) continue;
                const float p = expf(sc[l] * a.scale - a.lse[qr]);
                const float ds = p * (dp[l] - a.D[qr]);
                axpy_inl(p, gi, a.dv + (k0 + l * a.n_kv_head) * d, d);
                axpy_inl(ds * a.scale, qi, a.dk + (k0 + l * a.n_kv_head) * d, d);
            }
        }
}

#if FT_X86
__attribute__((target("avx512f"))) void attn_fwd_avx512(const AttnArgs& a, int64_t b, int64_t h, int64_t i0) {
    attn_fwd_body(a, b, h, i0);
}
__attribute__((target("avx512f"))) void attn_dq_avx512(const AttnArgs& a, int64_t b, int64_t h, int64_t i0) {
    attn_dq_body(a, b, h, i0);
}
__attribute__((target("avx512f"))) void attn_dkv_avx512(const AttnArgs& a, int64_t b, int64_t g, int64_t j0) {
    attn_dkv_body(a, b, g, j0);
}
#endif
void attn_fwd(const AttnArgs& a, int64_t b, int64_t h, int64_t i0) {
#if FT_X86
    if (cpu_avx512()) return attn_fwd_avx512(a, b, h, i0);
#endif
    attn_fwd_body(a, b, h, i0);
}
void attn_dq(const AttnArgs& a, int64_t b, int64_t h, int64_t i0) {
#if FT_X86
    if (cpu_avx512()) return attn_dq_avx512(a, b, h, i0);
#endif
    attn_dq_body(a, b, h, i0);
}
void attn_dkv(const AttnArgs& a, int64_t b, int64_t g, int64_t j0) {
#if FT_X86
    if (cpu_avx512()) return attn_dkv_avx512(a, b, g, j0);
#endif
    attn_dkv_body(a, b, g, j0);
}

}  // namespace

extern "C" {

void fabric_train_attention(const float* q, const float* k, const float* v, const int32_t* seg, int64_t batch,
                            int64_t t, int64_t n_head, int64_t n_kv_head, int64_t d, float scale, float* out,
                            float* lse, int32_t threads) {
    AttnArgs a{q, k, v, seg, nullptr, nullptr, nullptr, nullptr, t, n_head, n_kv_head, d, scale, out, lse,
               nullptr, nullptr, nullptr};
    const int64_t n_qc = (t + kQueryChunk - 1) / kQueryChunk;
    run_tasks(batch * n_head * n_qc, threads, [&](int64_t task) {
        attn_fwd(a, task / (n_head * n_qc), task / n_qc % n_head, task % n_qc * kQueryChunk);
    });
}

void fabric_train_attention_backward(const float* q, const float* k, const float* v, const int32_t* seg,
                                     const float* out, const float* lse, const float* dout, int64_t batch, int64_t t,
                                     int64_t n_head, int64_t n_kv_head, int64_t d, float scale, float* dq, float* dk,
                                     float* dv, int32_t threads) {
    const int64_t n_qc = (t + kQueryChunk - 1) / kQueryChunk;
    // D[row, h] = dout . out, the softmax-backward row term
    std::vector<float> D((size_t)(batch * t * n_head));
    for_chunks(batch * t * n_head, 1024, threads, [&](int64_t a0, int64_t e) {
        for (int64_t r = a0; r < e; r++) D[r] = dot(dout + r * d, out + r * d, d);
    });
    AttnArgs a{q, k, v, seg, out, lse, dout, D.data(), t, n_head, n_kv_head, d, scale, nullptr, nullptr, dq, dk, dv};
    run_tasks(batch * n_head * n_qc, threads, [&](int64_t task) {
        attn_dq(a, task / (n_head * n_qc), task / n_qc % n_head, task % n_qc * kQueryChunk);
    });
    run_tasks(batch * n_kv_head * n_qc, threads, [&](int64_t task) {
        attn_dkv(a, task / (n_kv_head * n_qc), task / n_qc % n_kv_head, task % n_qc * kQueryChunk);
    });
}

}  // extern "C"

extern "C" {

// ---- cross-entropy ---------------------------------------------------------------------------------------

double fabric_train_cross_entropy(float* logits, const int32_t* targets, int64_t rows, int64_t vocab,
                                  float grad_scale, int64_t* count, int32_t threads) {
    std::vector<double> loss((size_t)rows, 0.0);
    run_tasks(rows, threads, [&](int64_t r) {
        float* x = logits + r * vocab;
        const int32_t tg = targets[r];
        if (tg < 0 || tg >= vocab) {
            memset(x, 0, (size_t)vocab * 4);
            return;
        }
        float mx = -INFINITY;
        for (int64_t i = 0; i < vocab; i++) mx = std::max(mx, x[i]);
        const double target_logit = (double)x[tg];
        double sum = 0;
        for (int64_t i = 0; i < vocab; i++) sum += (double)(x[i] = expf(x[i] - mx));
        loss[r] = (double)mx + log(sum) - target_logit;
        const float f = (float)(1.0 / sum) * grad_scale;
        for (int64_t i = 0; i < vocab; i++) x[i] *= f;
        x[tg] -= grad_scale;
    });
    double total = 0;
    int64_t n = 0;
    for (int64_t r = 0; r < rows; r++) {
        total += loss[r];
        if (targets[r] >= 0 && targets[r] < vocab) n++;
    }
    *count = n;
    return total;
}

}  // extern "C"
