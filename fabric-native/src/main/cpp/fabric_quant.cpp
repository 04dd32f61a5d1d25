// Quantizers for ggml's block formats, byte-exact with llama-quantize on x86-64.
// Spec: shared/specs/quantization.md, section 2 (layouts) and 3 (numerics, solvers, procedures).
// Every float expression below is written in the evaluation order the reference uses, because the
// scale searches compare near-equal candidates; do not "simplify" arithmetic here.
#include "fabric_quant.h"
#include "fabric_quant_common.h"

#include <algorithm>
#include <cstring>
#include <thread>
#include <vector>

namespace fq {

// ---------------------------------------------------------------------------------------------
// Helper solvers (spec 3.2)
// ---------------------------------------------------------------------------------------------

// The solvers below split each pass into an element-wise part (levels, per-element products: vectorizable)
// and the sequential float sums the reference accumulates in element order. Same operations, same order of
// accumulation, so the same floats; only the loop shape differs. n <= kMaxN everywhere (sub-blocks of 16/32).

// make_qx_quants: symmetric levels l in [-nmax, nmax-1] minimising the weighted error, stored as l+nmax.
// Weights: qw if given, else chosen by rmse_type (1: x^2, 2: 1, 3: |x|, other: sqrt|x|).
float solve_symmetric(int n, int nmax, const float* x, int8_t* L, int rmse_type, const float* qw) {
    float amax = 0.0f, vmax = 0.0f;
    for (int i = 0; i < n; ++i) {
        float a = std::fabs(x[i]);
        if (a > amax) { amax = a; vmax = x[i]; }
    }
    if (amax < kGroupEps) {
        std::memset(L, 0, (size_t)n);
        return 0.0f;
    }
    float w[kMaxN], wx[kMaxN];
    for (int i = 0; i < n; ++i) {
        if (qw) w[i] = qw[i];
        else if (rmse_type == 1) w[i] = x[i] * x[i];
        else if (rmse_type == 2) w[i] = 1.0f;
        else if (rmse_type == 3) w[i] = std::fabs(x[i]);
        else w[i] = std::sqrt(std::fabs(x[i]));
        wx[i] = w[i] * x[i];
    }
    const float fnmax = (float)nmax;
    int lv[kMaxN];
    auto levels = [&](float isc) {
        for (int i = 0; i < n; ++i) lv[i] = clampi(nearest_int(isc * x[i]), -nmax, nmax - 1);
    };
    float sumlx, suml2;
    auto sums = [&]() {
        float a[kMaxN], b[kMaxN];
        for (int i = 0; i < n; ++i) {
            const float fl = (float)lv[i];
            a[i] = wx[i] * fl;
            b[i] = (w[i] * fl) * fl;
        }
        sumlx = 0.0f;
        suml2 = 0.0f;
        for (int i = 0; i < n; ++i) {
            sumlx += a[i];
            suml2 += b[i];
        }
    };
    float iscale = (float)(-nmax) / vmax;
    levels(iscale);
    for (int i = 0; i < n; ++i) L[i] = (int8_t)(lv[i] + nmax);
    sums();
    float scale = suml2 != 0.0f ? sumlx / suml2 : 0.0f;
    float best = scale * sumlx;
    for (int is = -9; is <= 9; ++is) {
        if (is == 0) continue;
        iscale = -(fnmax + 0.1f * (float)is) / vmax;
        levels(iscale);
        sums();
        if (suml2 > 0.0f && sumlx * sumlx > best * suml2) {
            for (int i = 0; i < n; ++i) L[i] = (int8_t)(lv[i] + nmax);
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    return scale;
}

// make_q3_quants: symmetric start with w = x^2, then coordinate descent on single levels (Q3_K ref).
float solve_q3(int n, int nmax, const float* x, int8_t* L) {
    float amax = 0.0f, vmax = 0.0f;
    for (int i = 0; i < n; ++i) {
        float a = std::fabs(x[i]);
        if (a > amax) { amax = a; vmax = x[i]; }
    }
    if (amax < kGroupEps) {
        std::memset(L, 0, (size_t)n);
        return 0.0f;
    }
    float iscale = (float)(-nmax) / vmax;
    float sumlx = 0.0f, suml2 = 0.0f;
    for (int i = 0; i < n; ++i) {
        int l = clampi(nearest_int(iscale * x[i]), -nmax, nmax - 1);
        L[i] = (int8_t)l;
        float w = x[i] * x[i];
        sumlx += (w * x[i]) * (float)l;
        suml2 += (w * (float)l) * (float)l;
    }
    for (int round = 0; round < 5; ++round) {
        int changed = 0;
        for (int i = 0; i < n; ++i) {
            float w = x[i] * x[i];
            float li = (float)L[i];
            float slx = sumlx - (w * x[i]) * li;
            if (slx > 0.0f) {
                float sl2 = suml2 - (w * li) * li;
                int nl = clampi(nearest_int((x[i] * sl2) / slx), -nmax, nmax - 1);
                if (nl != L[i]) {
                    float fn = (float)nl;
                    slx += (w * x[i]) * fn;
                    sl2 += (w * fn) * fn;
                    if (sl2 > 0.0f && (slx * slx) * suml2 > (sumlx * sumlx) * sl2) {
                        L[i] = (int8_t)nl;
                        sumlx = slx;
                        suml2 = sl2;
                        ++changed;
                    }
                }
            }
        }
        if (!changed) break;
    }
    for (int i = 0; i < n; ++i) L[i] = (int8_t)(L[i] + nmax);
    return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
}

// make_qkx2_quants / make_qkx3_quants: asymmetric levels in [0, nmax] with an offset min <= 0,
// searched over nstep+1 candidate grid scales with a weighted least-squares refit.
// w == nullptr means w = x^2 (qkx3 only). qkx3 treats max <= min as degenerate, qkx2 only max == min.
float solve_asymmetric(int n, int nmax, const float* x, const float* w, uint8_t* L, float* the_min,
                       uint8_t* Laux, float rmin, float rdelta, int nstep, bool use_mad, bool qkx3) {
    float ww[kMaxN] = {};
    for (int i = 0; i < n; ++i) ww[i] = w ? w[i] : x[i] * x[i];
    float vmin = x[0], vmax = x[0];
    float sum_w = ww[0];
    float sum_x = sum_w * x[0];
    for (int i = 1; i < n; ++i) {
        if (x[i] < vmin) vmin = x[i];
        if (x[i] > vmax) vmax = x[i];
        sum_w += ww[i];
        sum_x += ww[i] * x[i];
    }
    if (vmin > 0.0f) vmin = 0.0f;
    if (qkx3 ? (vmax <= vmin) : (vmax == vmin)) {
        std::memset(L, 0, (size_t)n);
        *the_min = -vmin;
        return 0.0f;
    }
    float xm[kMaxN], t[kMaxN];
    for (int i = 0; i < n; ++i) xm[i] = x[i] - vmin;
    auto levels = [&](float isc, uint8_t* out) {
        for (int i = 0; i < n; ++i) out[i] = (uint8_t)clampi(nearest_int(isc * xm[i]), 0, nmax);
    };
    // Weighted error of levels q under (sc, mn): sum of w * (err^2 or |err|), err = (sc*q + mn) - x.
    auto error = [&](const uint8_t* q, float sc, float mn) {
        for (int i = 0; i < n; ++i) {
            float diff = (sc * (float)q[i] + mn) - x[i];
            diff = use_mad ? std::fabs(diff) : diff * diff;
            t[i] = ww[i] * diff;
        }
        float e = 0.0f;
        for (int i = 0; i < n; ++i) e += t[i];
        return e;
    };
    const float fnmax = (float)nmax;
    float iscale = fnmax / (vmax - vmin);
    float scale = 1.0f / iscale;
    levels(iscale, L);
    float best = error(L, scale, vmin);
    if (nstep < 1) {
        *the_min = -vmin;
        return scale;
    }
    for (int is = 0; is <= nstep; ++is) {
        iscale = (rmin + rdelta * (float)is + fnmax) / (vmax - vmin);
        levels(iscale, Laux);
        float a[kMaxN], b[kMaxN], c[kMaxN];
        for (int i = 0; i < n; ++i) {
            const float fl = (float)Laux[i];
            a[i] = ww[i] * fl;
            b[i] = a[i] * fl;
            c[i] = a[i] * x[i];
        }
        float sum_l = 0.0f, sum_l2 = 0.0f, sum_xl = 0.0f;
        for (int i = 0; i < n; ++i) {
            sum_l += a[i];
            sum_l2 += b[i];
            sum_xl += c[i];
        }
        float D = sum_w * sum_l2 - sum_l * sum_l;
        if (D > 0.0f) {
            float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
            float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
            if (this_min > 0.0f) {
                this_min = 0.0f;
                this_scale = sum_xl / sum_l2;
            }
            float err = error(Laux, this_scale, this_min);
            if (err < best) {
                std::memcpy(L, Laux, (size_t)n);
                best = err;
                scale = this_scale;
                // Later candidates are built on the new offset: ggml updates min in place, and both
                // (max - min) and (x - min) use it from here on.
                vmin = this_min;
                for (int i = 0; i < n; ++i) xm[i] = x[i] - vmin;
            }
        }
    }
    *the_min = -vmin;
    return scale;
}

// make_qp_quants: non-negative sub-block scales onto a [0, nmax] grid (imatrix paths of the k-quants).
float solve_positive(int n, int nmax, const float* x, uint8_t* L, const float* qw) {
    float vmax = 0.0f;
    for (int i = 0; i < n; ++i) vmax = std::max(vmax, x[i]);
    if (vmax < kGroupEps) {
        std::memset(L, 0, (size_t)n);
        return 0.0f;
    }
    const float fnmax = (float)nmax;
    float iscale = fnmax / vmax;
    for (int i = 0; i < n; ++i) L[i] = (uint8_t)nearest_int(iscale * x[i]);
    float scale = 1.0f / iscale;
    float best_mse = 0.0f;
    for (int i = 0; i < n; ++i) {
        float diff = x[i] - scale * (float)L[i];
        best_mse += (qw[i] * diff) * diff;
    }
    for (int is = -4; is <= 4; ++is) {
        if (is == 0) continue;
        float iscale_is = (0.1f * (float)is + fnmax) / vmax;
        float scale_is = 1.0f / iscale_is;
        float mse = 0.0f;
        for (int i = 0; i < n; ++i) {
            int l = std::min(nmax, nearest_int(iscale_is * x[i]));
            float diff = x[i] - scale_is * (float)l;
            mse += (qw[i] * diff) * diff;
        }
        if (mse < best_mse) {
            best_mse = mse;
            iscale = iscale_is;
        }
    }
    float sumlx = 0.0f, suml2 = 0.0f;
    for (int i = 0; i < n; ++i) {
        int l = std::min(nmax, nearest_int(iscale * x[i]));
        L[i] = (uint8_t)l;
        float fl = (float)L[i];
        sumlx += (qw[i] * x[i]) * fl;
        suml2 += (qw[i] * fl) * fl;
    }
    for (int round = 0; round < 5; ++round) {
        int changed = 0;
        for (int i = 0; i < n; ++i) {
            float wi = qw[i];
            float li = (float)L[i];
            float slx = sumlx - (wi * x[i]) * li;
            float sl2 = suml2 - (wi * li) * li;
            if (slx > 0.0f && sl2 > 0.0f) {
                int nl = std::min(nmax, nearest_int((x[i] * sl2) / slx));
                if (nl != (int)L[i]) {
                    float fn = (float)nl;
                    slx += (wi * x[i]) * fn;
                    sl2 += (wi * fn) * fn;
                    if ((slx * slx) * suml2 > (sumlx * sumlx) * sl2) {
                        L[i] = (uint8_t)nl;
                        sumlx = slx;
                        suml2 = sl2;
                        ++changed;
                    }
                }
            }
        }
        if (!changed) break;
    }
    return sumlx / suml2;
}

// ---------------------------------------------------------------------------------------------
// Legacy 32-element formats (spec 3.1 "legacy casts", 3.3 "legacy with imatrix")
// ---------------------------------------------------------------------------------------------

static void q4_0_ref(const float* x, uint8_t* out, int64_t nb) {
    for (int64_t b = 0; b < nb; ++b, x += 32, out += 18) {
        float amax = 0.0f, vmax = 0.0f;
        for (int j = 0; j < 32; ++j) {
            if (amax < std::fabs(x[j])) { amax = std::fabs(x[j]); vmax = x[j]; }
        }
        const float d = vmax / -8.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        put_u16(out, half_from_float(d));
        for (int j = 0; j < 16; ++j) {
            int q0 = std::min(15, (int)(int8_t)f2i_trunc(x[j] * id + 8.5f));
            int q1 = std::min(15, (int)(int8_t)f2i_trunc(x[j + 16] * id + 8.5f));
            out[2 + j] = (uint8_t)(q0 | (q1 << 4));
        }
    }
}

static void q4_1_ref(const float* x, uint8_t* out, int64_t nb) {
    for (int64_t b = 0; b < nb; ++b, x += 32, out += 20) {
        float vmin = 3.402823466e+38f, vmax = -3.402823466e+38f;
        for (int j = 0; j < 32; ++j) {
            if (x[j] < vmin) vmin = x[j];
            if (x[j] > vmax) vmax = x[j];
        }
        const float d = (vmax - vmin) / 15.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        put_u16(out, half_from_float(d));
        put_u16(out + 2, half_from_float(vmin));
        for (int j = 0; j < 16; ++j) {
            int q0 = std::min(15, (int)(int8_t)f2i_trunc((x[j] - vmin) * id + 0.5f));
            int q1 = std::min(15, (int)(int8_t)f2i_trunc((x[j + 16] - vmin) * id + 0.5f));
            out[4 + j] = (uint8_t)(q0 | (q1 << 4));
        }
    }
}

// Q5 layouts: low nibbles like Q4_0, bit 4 of element j in bit j of the little-endian u32 qh.
static void pack_q5(const int* q, uint8_t* qh4, uint8_t* qs) {
    uint32_t qh = 0;
    for (int j = 0; j < 16; ++j) {
        qs[j] = (uint8_t)((q[j] & 15) | ((q[j + 16] & 15) << 4));
        qh |= (uint32_t)((q[j] & 0x10) >> 4) << j;
        qh |= (uint32_t)((q[j + 16] & 0x10) >> 4) << (j + 16);
    }
    put_u32(qh4, qh);
}

static void q5_0_ref(const float* x, uint8_t* out, int64_t nb) {
    int q[32];
    for (int64_t b = 0; b < nb; ++b, x += 32, out += 22) {
        float amax = 0.0f, vmax = 0.0f;
        for (int j = 0; j < 32; ++j) {
            if (amax < std::fabs(x[j])) { amax = std::fabs(x[j]); vmax = x[j]; }
        }
        const float d = vmax / -16.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        put_u16(out, half_from_float(d));
        for (int j = 0; j < 32; ++j) q[j] = std::min(31, (int)(int8_t)f2i_trunc(x[j] * id + 16.5f));
        pack_q5(q, out + 2, out + 6);
    }
}

static void q5_1_ref(const float* x, uint8_t* out, int64_t nb) {
    int q[32];
    for (int64_t b = 0; b < nb; ++b, x += 32, out += 24) {
        float vmin = 3.402823466e+38f, vmax = -3.402823466e+38f;
        for (int j = 0; j < 32; ++j) {
            if (x[j] < vmin) vmin = x[j];
            if (x[j] > vmax) vmax = x[j];
        }
        const float d = (vmax - vmin) / 31.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        put_u16(out, half_from_float(d));
        put_u16(out + 2, half_from_float(vmin));
        // ggml stores this one through a uint8_t cast with no upper clamp.
        for (int j = 0; j < 32; ++j) q[j] = (uint8_t)f2i_trunc((x[j] - vmin) * id + 0.5f);
        pack_q5(q, out + 4, out + 8);
    }
}

static void q8_0_ref(const float* x, uint8_t* out, int64_t nb) {
    for (int64_t b = 0; b < nb; ++b, x += 32, out += 34) {
        float amax = 0.0f;
        for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[j]));
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        put_u16(out, half_from_float(d));
        // C roundf: halves away from zero.
        for (int j = 0; j < 32; ++j) out[2 + j] = (uint8_t)(int8_t)f2i_trunc(std::round(x[j] * id));
    }
}

// Row-level sigma^2 = sum(x^2)/n_per_row, then w = qw * sqrt(sigma^2 + x^2) (quantize_row_q*_impl).
static float row_sigma2(const float* x, int64_t n) {
    float s = 0.0f;
    for (int64_t j = 0; j < n; ++j) s += x[j] * x[j];
    return s / (float)n;
}

static void legacy_sym_impl(const float* x, uint8_t* out, int64_t n, const float* qw, int nmax, bool five) {
    const float sigma2 = row_sigma2(x, n);
    float w[32];
    int8_t L[32];
    int q[32];
    const int bytes = five ? 22 : 18;
    for (int64_t b = 0; b < n / 32; ++b, out += bytes) {
        const float* xb = x + 32 * b;
        const float* qb = qw + 32 * b;
        for (int j = 0; j < 32; ++j) w[j] = qb[j] * std::sqrt(sigma2 + xb[j] * xb[j]);
        const float d = solve_symmetric(32, nmax, xb, L, 1, w);
        put_u16(out, half_from_float(d));
        if (five) {
            for (int j = 0; j < 32; ++j) q[j] = L[j];
            pack_q5(q, out + 2, out + 6);
        } else {
            for (int j = 0; j < 16; ++j) out[2 + j] = (uint8_t)(L[j] | (L[j + 16] << 4));
        }
    }
}

static void legacy_asym_impl(const float* x, uint8_t* out, int64_t n, const float* qw, int nmax, bool five) {
    const float sigma2 = row_sigma2(x, n);
    float w[32];
    uint8_t L[32], Laux[32];
    int q[32];
    const int bytes = five ? 24 : 20;
    for (int64_t b = 0; b < n / 32; ++b, out += bytes) {
        const float* xb = x + 32 * b;
        const float* qb = qw + 32 * b;
        for (int j = 0; j < 32; ++j) w[j] = qb[j] * std::sqrt(sigma2 + xb[j] * xb[j]);
        float the_min;
        const float d = solve_asymmetric(32, nmax, xb, w, L, &the_min, Laux, -0.9f, 0.05f, 36, false, true);
        put_u16(out, half_from_float(d));
        put_u16(out + 2, half_from_float(-the_min));
        if (five) {
            for (int j = 0; j < 32; ++j) q[j] = L[j];
            pack_q5(q, out + 4, out + 8);
        } else {
            for (int j = 0; j < 16; ++j) out[4 + j] = (uint8_t)(L[j] | (L[j + 16] << 4));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// IQ4_NL / IQ4_XS (quantize_row_iq4_nl_impl, ntry = 7)
// ---------------------------------------------------------------------------------------------

// Nearest entry of the sorted non-linear table, ties to the upper entry (ggml's best_index_int8), computed
// branch-free as the number of midpoints m_k between neighbours with !(v < m_k). Equivalent for every float:
// the midpoints are exact, ggml's comparison v - a < b - v is exact near them (half-gaps <= 12 are below
// |v|'s binade width there), v <= -127 gives 0, and v >= 113 or NaN gives 15 in both.
constexpr float kIq4Mid[15] = {-115.5f, -93.5f, -74.0f, -57.0f, -42.0f, -28.5f, -16.0f, -4.5f,
                               7.0f, 19.0f, 31.5f, 45.5f, 61.0f, 79.0f, 101.0f};

static inline int nearest_iq4(float v) {
    int idx = 0;
    for (int k = 0; k < 15; ++k) idx += !(v < kIq4Mid[k]);
    return idx;
}

// L[j] = nearest level of scale * x[j] for 32 values; kept apart from the (sequential) sums so it vectorizes.
static inline void iq4_levels32(const float* __restrict x, float scale, uint8_t* __restrict L) {
    for (int j = 0; j < 32; ++j) L[j] = (uint8_t)nearest_iq4(scale * x[j]);
}

// One super-block of `sbs` elements in 32-element sub-blocks. IQ4_NL: sbs = 32; IQ4_XS: sbs = 256.
static void iq4_superblock(int sbs, const float* x, const float* qw, uint8_t* d_out, uint8_t* qs,
                           uint8_t* scales_h_out, uint8_t* scales_l) {
    const int ntry = 7;
    const int nsub = sbs / 32;
    float sigma2 = 0.0f;
    for (int j = 0; j < sbs; ++j) sigma2 += x[j] * x[j];
    sigma2 *= 2.0f / (float)sbs;
    float scales[8];
    float w[32];
    uint8_t L[256];
    std::memset(L, 0, sizeof L);
    float max_scale = 0.0f, amax_scale = 0.0f;
    for (int ib = 0; ib < nsub; ++ib) {
        const float* xb = x + 32 * ib;
        uint8_t* Lb = L + 32 * ib;
        if (qw) {
            for (int j = 0; j < 32; ++j) w[j] = qw[32 * ib + j] * std::sqrt(sigma2 + xb[j] * xb[j]);
        } else {
            for (int j = 0; j < 32; ++j) w[j] = xb[j] * xb[j];
        }
        float amax = 0.0f, vmax = 0.0f;
        for (int j = 0; j < 32; ++j) {
            float a = std::fabs(xb[j]);
            if (a > amax) { amax = a; vmax = xb[j]; }
        }
        if (amax < kGroupEps) {
            scales[ib] = 0.0f;
            continue;
        }
        const float k0 = (float)kIq4nl[0];
        float d = -vmax / k0;
        float id = 1.0f / d;
        float sumqx = 0.0f, sumq2 = 0.0f;
        iq4_levels32(xb, id, Lb);
        for (int j = 0; j < 32; ++j) {
            float q = (float)kIq4nl[Lb[j]];
            sumqx += (w[j] * q) * xb[j];
            sumq2 += (w[j] * q) * q;
        }
        d = sumqx / sumq2;
        float best = d * sumqx;
        for (int itry = -ntry; itry <= ntry; ++itry) {
            id = (float)(itry + kIq4nl[0]) / vmax;
            sumqx = 0.0f;
            sumq2 = 0.0f;
            uint8_t Lt[32];
            iq4_levels32(xb, id, Lt);
            for (int j = 0; j < 32; ++j) {
                float q = (float)kIq4nl[Lt[j]];
                sumqx += (w[j] * q) * xb[j];
                sumq2 += (w[j] * q) * q;
            }
            if (sumq2 > 0.0f && sumqx * sumqx > best * sumq2) {
                d = sumqx / sumq2;
                best = d * sumqx;
            }
        }
        scales[ib] = d;
        float ad = std::fabs(d);
        if (ad > amax_scale) { amax_scale = ad; max_scale = d; }
    }
    if (nsub > 1) {
        uint16_t sh = 0;
        const float d = -max_scale / 32.0f;
        put_u16(d_out, half_from_float(d));
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        for (int ib = 0; ib < nsub; ++ib) {
            int l = clampi(nearest_int(id * scales[ib]), -32, 31);
            const float dl = d * (float)l;
            const float idl = dl != 0.0f ? 1.0f / dl : 0.0f;
            iq4_levels32(x + 32 * ib, idl, L + 32 * ib);
            l += 32;
            uint8_t lo = (uint8_t)(l & 15), hi = (uint8_t)(l >> 4);
            if (ib % 2 == 0) scales_l[ib / 2] = lo; else scales_l[ib / 2] |= (uint8_t)(lo << 4);
            sh |= (uint16_t)(hi << (2 * ib));
        }
        put_u16(scales_h_out, sh);
    } else {
        put_u16(d_out, half_from_float(scales[0]));
        const float id = scales[0] != 0.0f ? 1.0f / scales[0] : 0.0f;
        for (int j = 0; j < sbs; j += 32) iq4_levels32(x + j, id, L + j);
    }
    for (int i = 0; i < sbs / 32; ++i) {
        for (int j = 0; j < 16; ++j) qs[16 * i + j] = (uint8_t)(L[32 * i + j] | (L[32 * i + 16 + j] << 4));
    }
}

static void iq4_nl_row(const float* x, uint8_t* out, int64_t n, const float* qw) {
    for (int64_t b = 0; b < n / 32; ++b) {
        iq4_superblock(32, x + 32 * b, qw ? qw + 32 * b : nullptr, out + 18 * b, out + 18 * b + 2, nullptr, nullptr);
    }
}

static void iq4_xs_row(const float* x, uint8_t* out, int64_t n, const float* qw) {
    for (int64_t b = 0; b < n / 256; ++b) {
        uint8_t* blk = out + 136 * b;
        iq4_superblock(256, x + 256 * b, qw ? qw + 256 * b : nullptr, blk, blk + 8, blk + 2, blk + 4);
    }
}

// ---------------------------------------------------------------------------------------------
// Row dispatch (ggml's quantize_<type>: no weights -> ref over the row, else the weighted impl)
// ---------------------------------------------------------------------------------------------

static void quantize_row(int type, const float* x, uint8_t* out, int64_t n, const float* qw) {
    switch (type) {
        case FABRIC_QT_Q4_0: if (qw) legacy_sym_impl(x, out, n, qw, 8, false); else q4_0_ref(x, out, n / 32); break;
        case FABRIC_QT_Q5_0: if (qw) legacy_sym_impl(x, out, n, qw, 16, true); else q5_0_ref(x, out, n / 32); break;
        case FABRIC_QT_Q4_1: if (qw) legacy_asym_impl(x, out, n, qw, 15, false); else q4_1_ref(x, out, n / 32); break;
        case FABRIC_QT_Q5_1: if (qw) legacy_asym_impl(x, out, n, qw, 31, true); else q5_1_ref(x, out, n / 32); break;
        case FABRIC_QT_Q8_0: q8_0_ref(x, out, n / 32); break;  // Q8_0 ignores the imatrix
        case FABRIC_QT_Q2_K: q2_k_row(x, out, n, qw); break;
        case FABRIC_QT_Q3_K: q3_k_row(x, out, n, qw); break;
        case FABRIC_QT_Q4_K: q4_k_row(x, out, n, qw); break;
        case FABRIC_QT_Q5_K: q5_k_row(x, out, n, qw); break;
        case FABRIC_QT_Q6_K: q6_k_row(x, out, n, qw); break;
        case FABRIC_QT_IQ4_NL: iq4_nl_row(x, out, n, qw); break;
        case FABRIC_QT_IQ4_XS: iq4_xs_row(x, out, n, qw); break;
        default: break;
    }
}

// Runs body(row_begin, row_end) over contiguous row ranges on up to nthreads threads.
template <class F>
static void parallel_rows(int64_t nrows, int nthreads, F body) {
    if (nthreads <= 0) nthreads = (int)std::max(1u, std::thread::hardware_concurrency());
    if ((int64_t)nthreads > nrows) nthreads = (int)std::max<int64_t>(1, nrows);
    if (nthreads == 1) {
        body(0, nrows);
        return;
    }
    std::vector<std::thread> pool;
    const int64_t per = (nrows + nthreads - 1) / nthreads;
    int64_t unstarted = nrows;  // rows from here on had no thread: the caller does them
    for (int t = 1; t < nthreads; ++t) {
        int64_t b = per * t, e = std::min(nrows, b + per);
        if (b >= e) break;
        try {
            pool.emplace_back([=] { body(b, e); });
        } catch (const std::exception&) {
            // out of threads (limits, memory): never abort, do the rest here; rows are independent
            unstarted = b;
            break;
        }
    }
    body(0, std::min(nrows, per));
    if (unstarted < nrows) body(unstarted, nrows);
    for (auto& th : pool) th.join();
}

}  // namespace fq

using namespace fq;

extern "C" {

int fabric_quant_block_elems(int type) { return block_elems(type); }
int fabric_quant_block_bytes(int type) { return block_bytes(type); }

int64_t fabric_quantize(int type, const float* src, int64_t nrows, int64_t ncols, const float* imatrix,
                        void* dst, int nthreads) {
    const int be = block_elems(type), bb = block_bytes(type);
    if (be == 0) return FABRIC_QERR_TYPE;
    if (nrows < 0 || ncols <= 0 || ncols % be != 0) return FABRIC_QERR_SHAPE;
    const int64_t row_bytes = ncols / be * bb;
    uint8_t* out = static_cast<uint8_t*>(dst);
    parallel_rows(nrows, nthreads, [=](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) quantize_row(type, src + r * ncols, out + r * row_bytes, ncols, imatrix);
    });
    return nrows * row_bytes;
}

int64_t fabric_quantize_from(int type, int src_type, const void* src, int64_t nrows, int64_t ncols,
                             const float* imatrix, void* dst, int nthreads) {
    if (src_type == 0) return fabric_quantize(type, static_cast<const float*>(src), nrows, ncols, imatrix, dst, nthreads);
    if (src_type != 1 && src_type != 30) return FABRIC_QERR_TYPE;
    const int be = block_elems(type), bb = block_bytes(type);
    if (be == 0) return FABRIC_QERR_TYPE;
    if (nrows < 0 || ncols <= 0 || ncols % be != 0) return FABRIC_QERR_SHAPE;
    const int64_t row_bytes = ncols / be * bb;
    const uint16_t* in = static_cast<const uint16_t*>(src);
    uint8_t* out = static_cast<uint8_t*>(dst);
    parallel_rows(nrows, nthreads, [=](int64_t r0, int64_t r1) {
        std::vector<float> row((size_t)ncols);
        for (int64_t r = r0; r < r1; ++r) {
            const uint16_t* h = in + r * ncols;
            if (src_type == 1) fabric_quant_f16_to_f32(h, row.data(), ncols);
            else fabric_quant_bf16_to_f32(h, row.data(), ncols);
            quantize_row(type, row.data(), out + r * row_bytes, ncols, imatrix);
        }
    });
    return nrows * row_bytes;
}

int64_t fabric_dequantize(int type, const void* src, int64_t nrows, int64_t ncols, float* dst, int nthreads) {
    const int be = block_elems(type), bb = block_bytes(type);
    if (be == 0) return FABRIC_QERR_TYPE;
    if (nrows < 0 || ncols <= 0 || ncols % be != 0) return FABRIC_QERR_SHAPE;
    const int64_t row_bytes = ncols / be * bb;
    const uint8_t* in = static_cast<const uint8_t*>(src);
    const DequantFn fn = dequant_fn(type);
    parallel_rows(nrows, nthreads, [=](int64_t r0, int64_t r1) {
        // Rows are contiguous, so a range of rows is one run of blocks.
        fn(in + r0 * row_bytes, dst + r0 * ncols, (r1 - r0) * (ncols / be));
    });
    return nrows * ncols;
}

void fabric_quant_f16_to_f32(const uint16_t* src, float* dst, int64_t n) { f16_to_f32(src, dst, n); }

void fabric_quant_bf16_to_f32(const uint16_t* src, float* dst, int64_t n) {
    for (int64_t i = 0; i < n; ++i) dst[i] = bits_to_float((uint32_t)src[i] << 16);
}

void fabric_quant_f32_to_f16(const float* src, uint16_t* dst, int64_t n) {
    for (int64_t i = 0; i < n; ++i) dst[i] = half_from_float(src[i]);
}

}  // extern "C"
