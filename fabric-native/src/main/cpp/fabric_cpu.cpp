#include "fabric_cpu.h"

int fabric_cpu_features(void) {
    int f = 0;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) f |= FABRIC_ISA_AVX2;
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl")) f |= FABRIC_ISA_AVX512;
    if (__builtin_cpu_supports("avx512bf16")) f |= FABRIC_ISA_AVX512_BF16;
    if (__builtin_cpu_supports("avx512vnni")) f |= FABRIC_ISA_AVX512_VNNI;
#elif defined(__aarch64__)
    f |= FABRIC_ISA_NEON;
#endif
    return f;
}
