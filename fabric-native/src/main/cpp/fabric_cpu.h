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

#ifdef __cplusplus
}
#endif
