// k-quant super-block procedures (spec 3.3): 256 elements per block, sub-block scales quantized against
// an fp16 super scale, then every element requantized with the fp16-rounded scales. Each *_row picks
// the reference path without weights and the imatrix path with them, as ggml's quantize_<type> does.
#include <algorithm>
#include <cstring>

#include "fabric_quant_common.h"

namespace fq {

namespace {

constexpr int QK = 256;

// Q2_K / Q3_K 2-bit planes: byte j/4+l holds elements j+l, j+l+32, j+l+64, j+l+96 (j = 0, 128).
void pack_2bit(const uint8_t* L, uint8_t* qs) {
    for (int j = 0; j < QK; j += 128) {
        for (int l = 0; l < 32; ++l) {
            qs[j / 4 + l] = (uint8_t)(L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) | (L[j + l + 96] << 6));
        }
    }
}

// Q4_K / Q5_K: 6-bit scale and min of sub-block j in the 12-byte packing (get_scale_min_k4).
void put_scale_min(uint8_t* s, int j, uint8_t ls, uint8_t lm) {
    if (j < 4) {
        s[j] = ls;
        s[j + 4] = lm;
    } else {
        s[j + 4] = (uint8_t)((ls & 0xF) | ((lm & 0xF) << 4));
        s[j - 4] |= (uint8_t)((ls >> 4) << 6);
        s[j] |= (uint8_t)((lm >> 4) << 6);
    }
}

void get_scale_min(const uint8_t* s, int j, uint8_t* sc, uint8_t* m) {
    if (j < 4) {
        *sc = s[j] & 63;
        *m = s[j + 4] & 63;
    } else {
        *sc = (uint8_t)((s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4));
        *m = (uint8_t)((s[j + 4] >> 4) | ((s[j] >> 6) << 4));
    }
}

// Q3_K: 16 six-bit values (already offset by 32) into 12 bytes.
void put_q3_scales(uint8_t* s, const int* l6) {
    std::memset(s, 0, 12);
    for (int j = 0; j < 16; ++j) {
        int l = l6[j];
        if (j < 8) s[j] = (uint8_t)(l & 0xF); else s[j - 8] |= (uint8_t)((l & 0xF) << 4);
        l >>= 4;
        s[j % 4 + 8] |= (uint8_t)(l << (2 * (j / 4)));
    }
}

int get_q3_scale(const uint8_t* s, int j) {
    int lo = j < 8 ? (s[j] & 0xF) : (s[j - 8] >> 4);
    int hi = (s[8 + j % 4] >> (2 * (j / 4))) & 3;
    return (int8_t)(lo | (hi << 4)) - 32;
}

// Requantizes with the stored scales, splits off bit 2 into hmask and packs the rest (Q3_K).
void q3_finish(const float* x, uint8_t* blk, int8_t* L) {
    uint8_t* hmask = blk;
    uint8_t* qs = blk + 32;
    const uint8_t* scales = blk + 96;
    const float d = get_half(blk + 108);
    for (int j = 0; j < 16; ++j) {
        const float dl = d * (float)get_q3_scale(scales, j);
        if (dl == 0.0f) continue;
        for (int i = 0; i < 16; ++i) {
            int l = clampi(nearest_int(x[16 * j + i] / dl), -4, 3);
            L[16 * j + i] = (int8_t)(l + 4);
        }
    }
    std::memset(hmask, 0, 32);
    uint8_t U[QK];
    for (int j = 0; j < QK; ++j) {
        int l = L[j];
        if (l > 3) {
            hmask[j % 32] |= (uint8_t)(1u << (j / 32));
            l -= 4;
        }
        U[j] = (uint8_t)l;
    }
    pack_2bit(U, qs);
}

// Q4_K / Q5_K: requantize every element with d*sc and dmin*m from the packed (fp16-rounded) scales.
void requant_kx(const float* x, const uint8_t* blk, int nmax, uint8_t* L) {
    const float d = get_half(blk), dmin = get_half(blk + 2);
    for (int j = 0; j < 8; ++j) {
        uint8_t sc, m;
        get_scale_min(blk + 4, j, &sc, &m);
        const float dl = d * (float)sc;
        if (dl == 0.0f) continue;
        const float ml = dmin * (float)m;
        for (int i = 0; i < 32; ++i) L[32 * j + i] = (uint8_t)clampi(nearest_int((x[32 * j + i] + ml) / dl), 0, nmax);
    }
}

// Shared by Q4_K and Q5_K: scales/mins per 32-element sub-block into blk[0..16).
void kx_scales(const float* x, const float* qw, int nmax, bool q5, uint8_t* blk, uint8_t* L) {
    float scales[8], mins[8], w[32], sw[8];
    uint8_t Laux[32];
    std::memset(blk + 4, 0, 12);
    if (!qw) {
        float max_scale = 0.0f, max_min = 0.0f;
        for (int j = 0; j < 8; ++j) {
            const float* xb = x + 32 * j;
            float sum_x2 = 0.0f;
            for (int l = 0; l < 32; ++l) sum_x2 += xb[l] * xb[l];
            const float av_x = std::sqrt(sum_x2 / 32.0f);
            for (int l = 0; l < 32; ++l) w[l] = av_x + std::fabs(xb[l]);
            scales[j] = q5 ? solve_asymmetric(32, nmax, xb, w, L + 32 * j, &mins[j], Laux, -0.5f, 0.1f, 15, false, false)
                           : solve_asymmetric(32, nmax, xb, w, L + 32 * j, &mins[j], Laux, -1.0f, 0.1f, 20, false, false);
            if (scales[j] > max_scale) max_scale = scales[j];
            if (mins[j] > max_min) max_min = mins[j];
        }
        const float inv_scale = max_scale > 0.0f ? 63.0f / max_scale : 0.0f;
        const float inv_min = max_min > 0.0f ? 63.0f / max_min : 0.0f;
        for (int j = 0; j < 8; ++j) {
            uint8_t ls = (uint8_t)nearest_int(inv_scale * scales[j]);
            uint8_t lm = (uint8_t)nearest_int(inv_min * mins[j]);
            put_scale_min(blk + 4, j, std::min<uint8_t>(63, ls), std::min<uint8_t>(63, lm));
        }
        put_u16(blk, half_from_float(max_scale / 63.0f));
        put_u16(blk + 2, half_from_float(max_min / 63.0f));
    } else {
        float sum_x2 = 0.0f;
        for (int l = 0; l < QK; ++l) sum_x2 += x[l] * x[l];
        const float sigma2 = 2.0f * sum_x2 / (float)QK;
        for (int j = 0; j < 8; ++j) {
            const float* xb = x + 32 * j;
            const float* qb = qw + 32 * j;
            for (int l = 0; l < 32; ++l) w[l] = qb[l] * std::sqrt(sigma2 + xb[l] * xb[l]);
            float sumw = 0.0f;
            for (int l = 0; l < 32; ++l) sumw += w[l];
            sw[j] = sumw;
            scales[j] = solve_asymmetric(32, nmax, xb, w, L + 32 * j, &mins[j], Laux, -0.9f, 0.05f, 36, false, true);
        }
        uint8_t Ls[8], Lm[8];
        const float d_block = solve_positive(8, 63, scales, Ls, sw);
        const float m_block = solve_positive(8, 63, mins, Lm, sw);
        for (int j = 0; j < 8; ++j) {
            uint8_t ls = Ls[j], lm = Lm[j];
            if (q5) {
                ls = std::min<uint8_t>(63, ls);
                lm = std::min<uint8_t>(63, lm);
            }
            put_scale_min(blk + 4, j, ls, lm);
        }
        put_u16(blk, half_from_float(d_block));
        put_u16(blk + 2, half_from_float(m_block));
    }
    requant_kx(x, blk, nmax, L);
}

}  // namespace

void q2_k_row(const float* x, uint8_t* out, int64_t n, const float* qw) {
    uint8_t L[QK], Laux[16];
    float scales[16], mins[16], w[16];
    for (int64_t b = 0; b < n / QK; ++b, x += QK, out += 84) {
        uint8_t* sc = out;        // scales[16]
        uint8_t* qs = out + 16;   // qs[64]
        uint8_t* dd = out + 80;   // d, dmin
        if (!qw) {
            float max_scale = 0.0f, max_min = 0.0f;
            for (int j = 0; j < 16; ++j) {
                for (int l = 0; l < 16; ++l) w[l] = std::fabs(x[16 * j + l]);
                scales[j] = solve_asymmetric(16, 3, x + 16 * j, w, L + 16 * j, &mins[j], Laux, -0.5f, 0.1f, 15, true, false);
                if (scales[j] > max_scale) max_scale = scales[j];
                if (mins[j] > max_min) max_min = mins[j];
            }
            if (max_scale > 0.0f) {
                const float iscale = 15.0f / max_scale;
                for (int j = 0; j < 16; ++j) sc[j] = (uint8_t)nearest_int(iscale * scales[j]);
                put_u16(dd, half_from_float(max_scale / 15.0f));
            } else {
                std::memset(sc, 0, 16);
                put_u16(dd, half_from_float(0.0f));
            }
            if (max_min > 0.0f) {
                const float iscale = 15.0f / max_min;
                for (int j = 0; j < 16; ++j) sc[j] |= (uint8_t)(nearest_int(iscale * mins[j]) << 4);
                put_u16(dd + 2, half_from_float(max_min / 15.0f));
            } else {
                put_u16(dd + 2, half_from_float(0.0f));
            }
        } else {
            const float* qb = qw + QK * b;
            float sw[16];
            float sumx2 = 0.0f;
            for (int j = 0; j < QK; ++j) sumx2 += x[j] * x[j];
            const float sigma2 = sumx2 / (float)QK;
            for (int j = 0; j < 16; ++j) {
                for (int l = 0; l < 16; ++l) w[l] = qb[16 * j + l] * std::sqrt(sigma2 + x[16 * j + l] * x[16 * j + l]);
                float s = 0.0f;
                for (int l = 0; l < 16; ++l) s += w[l];
                sw[j] = s;
                scales[j] = solve_asymmetric(16, 3, x + 16 * j, w, L + 16 * j, &mins[j], Laux, -0.9f, 0.05f, 36, false, true);
            }
            uint8_t Ls[16], Lm[16];
            const float dm = solve_positive(16, 15, scales, Ls, sw);
            const float mm = solve_positive(16, 15, mins, Lm, sw);
            put_u16(dd, half_from_float(dm));
            put_u16(dd + 2, half_from_float(mm));
            for (int j = 0; j < 16; ++j) sc[j] = (uint8_t)(Ls[j] | (Lm[j] << 4));
        }
        const float d = get_half(dd), dmin = get_half(dd + 2);
        for (int j = 0; j < 16; ++j) {
            const float dl = d * (float)(sc[j] & 0xF);
            if (dl == 0.0f) continue;
            const float ml = dmin * (float)(sc[j] >> 4);
            for (int i = 0; i < 16; ++i) L[16 * j + i] = (uint8_t)clampi(nearest_int((x[16 * j + i] + ml) / dl), 0, 3);
        }
        pack_2bit(L, qs);
    }
}

void q3_k_row(const float* x, uint8_t* out, int64_t n, const float* qw) {
    int8_t L[QK];
    float scales[16];
    int l6[16];
    for (int64_t b = 0; b < n / QK; ++b, x += QK, out += 110) {
        uint8_t* d_out = out + 108;
        if (!qw) {
            float amax = 0.0f, max_scale = 0.0f;
            for (int j = 0; j < 16; ++j) {
                scales[j] = solve_q3(16, 4, x + 16 * j, L + 16 * j);
                const float a = std::fabs(scales[j]);
                if (a > amax) { amax = a; max_scale = scales[j]; }
            }
            if (max_scale != 0.0f) {
                const float iscale = -32.0f / max_scale;
                for (int j = 0; j < 16; ++j) {
                    int8_t l = (int8_t)nearest_int(iscale * scales[j]);
                    l6[j] = clampi(l, -32, 31) + 32;
                }
                put_q3_scales(out + 96, l6);
                put_u16(d_out, half_from_float(1.0f / iscale));
            } else {
                std::memset(out + 96, 0, 12);
                put_u16(d_out, half_from_float(0.0f));
            }
        } else {
            const float* qb = qw + QK * b;
            float w[16], sw[16];
            float sumx2 = 0.0f;
            for (int j = 0; j < QK; ++j) sumx2 += x[j] * x[j];
            const float sigma2 = 2.0f * sumx2 / (float)QK;
            for (int j = 0; j < 16; ++j) {
                for (int l = 0; l < 16; ++l) w[l] = qb[16 * j + l] * std::sqrt(sigma2 + x[16 * j + l] * x[16 * j + l]);
                float s = 0.0f;
                for (int l = 0; l < 16; ++l) s += w[l];
                sw[j] = s;
                scales[j] = solve_symmetric(16, 4, x + 16 * j, L + 16 * j, 1, w);
            }
            int8_t Ls[16];
            const float d_block = solve_symmetric(16, 32, scales, Ls, 1, sw);
            for (int j = 0; j < 16; ++j) l6[j] = Ls[j];
            put_q3_scales(out + 96, l6);
            put_u16(d_out, half_from_float(d_block));
        }
        q3_finish(x, out, L);
    }
}

void q4_k_row(const float* x, uint8_t* out, int64_t n, const float* qw) {
    uint8_t L[QK];
    for (int64_t b = 0; b < n / QK; ++b, x += QK, out += 144) {
        kx_scales(x, qw ? qw + QK * b : nullptr, 15, false, out, L);
        uint8_t* q = out + 16;
        for (int j = 0; j < QK; j += 64, q += 32) {
            for (int l = 0; l < 32; ++l) q[l] = (uint8_t)(L[j + l] | (L[j + l + 32] << 4));
        }
    }
}

void q5_k_row(const float* x, uint8_t* out, int64_t n, const float* qw) {
    uint8_t L[QK];
    for (int64_t b = 0; b < n / QK; ++b, x += QK, out += 176) {
        kx_scales(x, qw ? qw + QK * b : nullptr, 31, true, out, L);
        uint8_t* qh = out + 16;
        uint8_t* ql = out + 48;
        std::memset(qh, 0, 32);
        uint8_t m1 = 1, m2 = 2;
        for (int c = 0; c < QK; c += 64, ql += 32) {
            for (int j = 0; j < 32; ++j) {
                int l1 = L[c + j], l2 = L[c + j + 32];
                if (l1 > 15) { l1 -= 16; qh[j] |= m1; }
                if (l2 > 15) { l2 -= 16; qh[j] |= m2; }
                ql[j] = (uint8_t)(l1 | (l2 << 4));
            }
            m1 = (uint8_t)(m1 << 2);
            m2 = (uint8_t)(m2 << 2);
        }
    }
}

void q6_k_row(const float* x, uint8_t* out, int64_t n, const float* qw) {
    int8_t L[QK];
    float scales[16];
    for (int64_t b = 0; b < n / QK; ++b, x += QK, out += 210) {
        uint8_t* ql = out;
        uint8_t* qh = out + 128;
        int8_t* sc = reinterpret_cast<int8_t*>(out + 192);
        uint8_t* d_out = out + 208;
        float max_scale = 0.0f, max_abs = 0.0f;
        for (int ib = 0; ib < 16; ++ib) {
            const float s = solve_symmetric(16, 32, x + 16 * ib, L + 16 * ib, 1, qw ? qw + QK * b + 16 * ib : nullptr);
            scales[ib] = s;
            const float a = std::fabs(s);
            if (a > max_abs) { max_abs = a; max_scale = s; }
        }
        if (max_abs < kGroupEps) {
            std::memset(out, 0, 210);
            put_u16(d_out, half_from_float(0.0f));
            continue;
        }
        const float iscale = -128.0f / max_scale;
        put_u16(d_out, half_from_float(1.0f / iscale));
        for (int ib = 0; ib < 16; ++ib) sc[ib] = (int8_t)std::min(127, nearest_int(iscale * scales[ib]));
        const float d = get_half(d_out);
        for (int j = 0; j < 16; ++j) {
            const float dl = d * (float)sc[j];
            if (dl == 0.0f) continue;
            for (int i = 0; i < 16; ++i) L[16 * j + i] = (int8_t)(clampi(nearest_int(x[16 * j + i] / dl), -32, 31) + 32);
        }
        for (int h = 0; h < 2; ++h) {
            const int base = 128 * h;
            uint8_t* qlh = ql + 64 * h;
            uint8_t* qhh = qh + 32 * h;
            for (int l = 0; l < 32; ++l) {
                const int a = L[base + l], bb = L[base + l + 32], c = L[base + l + 64], e = L[base + l + 96];
                qlh[l] = (uint8_t)((a & 0xF) | ((c & 0xF) << 4));
                qlh[l + 32] = (uint8_t)((bb & 0xF) | ((e & 0xF) << 4));
                qhh[l] = (uint8_t)((a >> 4) | ((bb >> 4) << 2) | ((c >> 4) << 4) | ((e >> 4) << 6));
            }
        }
    }
}

}  // namespace fq
