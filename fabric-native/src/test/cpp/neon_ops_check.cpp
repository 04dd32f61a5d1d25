// Cross-check of the NEON engine kernels against the portable ones, built for AArch64 and run under an emulator
// by NeonCrossTest (the CI machines are x86). Prints one line per case and exits non-zero on a mismatch:
// K-quant matmuls must equal the portable results bit for bit (integer sums, same float order); dense ones
// must agree within a few ulps of sum |x w| (their four FMA lanes sum in another order).
#include "fabric_ops.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <random>
#include <vector>

namespace {
std::mt19937_64 rng(42);

float gauss() { return std::normal_distribution<float>(0.0f, 1.0f)(rng); }

uint16_t to_f16(float f) {  // round to nearest even, normal range only (enough for test data)
    uint32_t x;
    memcpy(&x, &f, 4);
    const uint32_t sign = (x >> 16) & 0x8000u;
    int32_t e = (int32_t)((x >> 23) & 0xff) - 127 + 15;
    uint32_t m = x & 0x7fffffu;
    if (e <= 0) return (uint16_t)sign;
    uint32_t h = ((uint32_t)e << 10) | (m >> 13);
    const uint32_t rest = m & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (h & 1))) h++;
    return (uint16_t)(sign | h);
}

// Random weights of `type`: dense types from Gaussians; K-quant blocks of random bytes with small positive
// F16 super-scales (byte offsets of d/dmin per ggml's block layouts).
std::vector<uint8_t> weights(int32_t type, int64_t n, int64_t k) {
    const int64_t bytes = fabric_row_bytes(type, k) * n;
    std::vector<uint8_t> w((size_t)bytes);
    if (type == FABRIC_TYPE_F32) {
        for (int64_t i = 0; i < n * k; i++) {
            const float v = gauss();
            memcpy(&w[4 * i], &v, 4);
        }
        return w;
    }
    if (type == FABRIC_TYPE_F16 || type == FABRIC_TYPE_BF16) {
        for (int64_t i = 0; i < n * k; i++) {
            const float v = gauss();
            uint32_t b;
            memcpy(&b, &v, 4);
            const uint16_t h = type == FABRIC_TYPE_F16 ? to_f16(v) : (uint16_t)(b >> 16);
            memcpy(&w[2 * i], &h, 2);
        }
        return w;
    }
    for (auto& b : w) b = (uint8_t)rng();
    const int64_t block = fabric_row_bytes(type, 256), blocks = bytes / block;
    for (int64_t i = 0; i < blocks; i++) {
        uint8_t* p = &w[(size_t)(i * block)];
        const uint16_t d = to_f16(0.001f + 0.004f * (float)(rng() % 1000) / 1000.0f);
        if (type == FABRIC_TYPE_Q6_K) {
            memcpy(p + block - 2, &d, 2);
        } else {
            memcpy(p, &d, 2);
            memcpy(p + 2, &d, 2);
        }
    }
    return w;
}

int check(const char* name, int32_t type, int64_t m, int64_t k, int64_t n, bool exact) {
    std::vector<uint8_t> w = weights(type, n, k);
    std::vector<float> x((size_t)(m * k)), y0((size_t)(m * n)), y1((size_t)(m * n));
    for (auto& v : x) v = gauss();
    fabric_ops_set_variant(0);
    fabric_op_matmul(type, w.data(), n, k, x.data(), m, y0.data(), 2);
    const int v = fabric_ops_set_variant(1);
    fabric_op_matmul(type, w.data(), n, k, x.data(), m, y1.data(), 2);
    int bad = 0;
    double worst = 0;
    for (int64_t i = 0; i < m * n; i++) {
        if (exact) {
            if (memcmp(&y0[i], &y1[i], 4) != 0) bad++;
        } else {
            const double e = fabs((double)y0[i] - y1[i]) / (1e-30 + fabs((double)y0[i]) + sqrt((double)k));
            worst = e > worst ? e : worst;
            if (e > 1e-5) bad++;
        }
    }
    printf("%-6s %s m=%lld k=%lld n=%lld: %s (%d of %lld differ%s)\n", name, fabric_ops_variant(), (long long)m,
           (long long)k, (long long)n, bad ? "FAIL" : "ok", bad, (long long)(m * n), exact ? ", bitwise" : "");
    return v == 1 && bad == 0 ? 0 : 1;
}
}  // namespace

int main() {
    int fails = 0;
    const int64_t shapes[][3] = {{1, 256, 7}, {3, 512, 5}, {5, 256, 9}, {67, 768, 6}};
    for (auto& s : shapes) {
        fails += check("Q4_K", FABRIC_TYPE_Q4_K, s[0], s[1], s[2], true);
        fails += check("Q5_K", FABRIC_TYPE_Q5_K, s[0], s[1], s[2], true);
        fails += check("Q6_K", FABRIC_TYPE_Q6_K, s[0], s[1], s[2], true);
    }
    const int64_t dense[][3] = {{1, 64, 5}, {3, 67, 7}, {5, 256, 4}, {66, 130, 9}};
    for (auto& s : dense) {
        fails += check("F32", FABRIC_TYPE_F32, s[0], s[1], s[2], false);
        fails += check("F16", FABRIC_TYPE_F16, s[0], s[1], s[2], false);
        fails += check("BF16", FABRIC_TYPE_BF16, s[0], s[1], s[2], false);
    }
    printf("%s\n", fails ? "NEON CHECK FAILED" : "NEON CHECK PASSED");
    return fails ? 1 : 0;
}
