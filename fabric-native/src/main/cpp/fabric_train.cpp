// Fabric training kernels, the training library (see fabric_train.h): fixed task grids on the shared pool
// (fabric_pool.h) and the variant cap; the kernels themselves live one op family per file (fabric_<family>.inc,
// forward and backward side by side), included below with FABRIC_OPS_TRAIN.
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

}  // extern "C"

#define FABRIC_OPS_TRAIN 1
#include "fabric_elementwise.inc"
#include "fabric_norm.inc"
#include "fabric_rope.inc"
#include "fabric_matmul.inc"
#include "fabric_attention.inc"
#include "fabric_embedding.inc"
#include "fabric_loss.inc"
#undef FABRIC_OPS_TRAIN
