// Dequantizers: block bytes -> floats, in the products' reference order (ggml's dequantize_row_*), so the
// engine reads weights exactly as llama.cpp does. Every value is a product of an fp16 scale and small
// integers (plus one subtraction or addition for the offset formats).
#include "fabric_quant_common.h"

namespace fq {

namespace {

void dq_q4_0(const uint8_t* s, float* y, int64_t nb) {
    for (int64_t b = 0; b < nb; ++b, s += 18, y += 32) {
        const float d = get_half(s);
        for (int j = 0; j < 16; ++j) {
            y[j] = (float)((s[2 + j] & 0xF) - 8) * d;
            y[j + 16] = (float)((s[2 + j] >> 4) - 8) * d;
        }
    }
}

void dq_q4_1(const uint8_t* s, float* y, int64_t nb) {
    for (int64_t b = 0; b < nb; ++b, s += 20, y += 32) {
        const float d = get_half(s), m = get_half(s + 2);
        for (int j = 0; j < 16; ++j) {
            y[j] = (float)(s[4 + j] & 0xF) * d + m;
            y[j + 16] = (float)(s[4 + j] >> 4) * d + m;
        }
    }
}

void dq_q5_0(const uint8_t* s, float* y, int64_t nb) {
    for (int64_t b = 0; b < nb; ++b, s += 22, y += 32) {
        const float d = get_half(s);
        const uint32_t qh = get_u32(s + 2);
        const uint8_t* qs = s + 6;
        for (int j = 0; j < 16; ++j) {
            const int h0 = (int)((qh >> j) & 1u) << 4, h1 = (int)((qh >> (j + 16)) & 1u) << 4;
            y[j] = (float)(((qs[j] & 0xF) | h0) - 16) * d;
            y[j + 16] = (float)(((qs[j] >> 4) | h1) - 16) * d;
        }
    }
}

void dq_q5_1(const uint8_t* s, float* y, int64_t nb) {
    for (int64_t b = 0; b < nb; ++b, s += 24, y += 32) {
        const float d = get_half(s), m = get_half(s + 2);
        const uint32_t qh = get_u32(s + 4);
        const uint8_t* qs = s + 8;
        for (int j = 0; j < 16; ++j) {
            const int h0 = (int)((qh >> j) & 1u) << 4, h1 = (int)((qh >> (j + 16)) & 1u) << 4;
            y[j] = (float)((qs[j] & 0xF) | h0) * d + m;
            y[j + 16] = (float)((qs[j] >> 4) | h1) * d + m;
        }
    }
}

void dq_q8_0(const uint8_t* s, float* y, int64_t nb) {
    for (int64_t b = 0; b < nb; ++b, s += 34, y += 32) {
        const float d = get_half(s);
        for (int j = 0; j < 32; ++j) y[j] = (float)(int8_t)s[2 + j] * d;
    }
}

void dq_iq4_nl(const uint8_t* s, float* y, int64_t nb) {
    for (int64_t b = 0; b < nb; ++b, s += 18, y += 32) {
        const float d = get_half(s);
        for (int j = 0; j < 16; ++j) {
            y[j] = d * (float)kIq4nl[s[2 + j] & 0xF];
            y[j + 16] = d * (float)kIq4nl[s[2 + j] >> 4];
        }
    }
}

void dq_iq4_xs(const uint8_t* s, float* y, int64_t nb) {
    for (int64_t b = 0; b < nb; ++b, s += 136) {
        const float d = get_half(s);
        const uint16_t sh = get_u16(s + 2);
        const uint8_t* sl = s + 4;
        const uint8_t* qs = s + 8;
        for (int ib = 0; ib < 8; ++ib, qs += 16, y += 32) {
            const int ls = ((sl[ib / 2] >> (4 * (ib % 2))) & 0xF) | (((sh >> (2 * ib)) & 3) << 4);
            const float dl = d * (float)(ls - 32);
            for (int j = 0; j < 16; ++j) {
                y[j] = dl * (float)kIq4nl[qs[j] & 0xF];
                y[j + 16] = dl * (float)kIq4nl[qs[j] >> 4];
            }
        }
    }
}

void dq_q2_k(const uint8_t* s, float* y, int64_t nb) {
    for (int64_t b = 0; b < nb; ++b, s += 84) {
        const uint8_t* sc = s;
        const uint8_t* q = s + 16;
        const float d = get_half(s + 80), dmin = get_half(s + 82);
        int is = 0;
        for (int half = 0; half < 2; ++half, q += 32) {
            for (int shift = 0; shift < 8; shift += 2) {
                for (int part = 0; part < 2; ++part) {
                    const uint8_t v = sc[is++];
                    const float dl = d * (float)(v & 0xF), ml = dmin * (float)(v >> 4);
                    for (int l = 0; l < 16; ++l) *y++ = dl * (float)((q[16 * part + l] >> shift) & 3) - ml;
                }
            }
        }
    }
}

void dq_q3_k(const uint8_t* s, float* y, int64_t nb) {
    for (int64_t b = 0; b < nb; ++b, s += 110) {
        const uint8_t* hm = s;
        const uint8_t* q = s + 32;
        const uint8_t* sc = s + 96;
        const float d = get_half(s + 108);
        int is = 0;
        uint8_t m = 1;
        for (int half = 0; half < 2; ++half, q += 32) {
            for (int shift = 0; shift < 8; shift += 2, m = (uint8_t)(m << 1)) {
                for (int part = 0; part < 2; ++part) {
                    int lo = is < 8 ? (sc[is] & 0xF) : (sc[is - 8] >> 4);
                    int hi = (sc[8 + is % 4] >> (2 * (is / 4))) & 3;
                    const float dl = d * (float)((lo | (hi << 4)) - 32);
                    ++is;
                    for (int l = 0; l < 16; ++l) {
                        const int k = 16 * part + l;
                        const int v = ((q[k] >> shift) & 3) - ((hm[k] & m) ? 0 : 4);
                        *y++ = dl * (float)v;
                    }
                }
            }
        }
    }
}

void scale_min_k4(const uint8_t* s, int j, int* sc, int* m) {
    if (j < 4) {
        *sc = s[j] & 63;
        *m = s[j + 4] & 63;
    } else {
        *sc = (s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4);
        *m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
    }
}

void dq_q4_k(const uint8_t* s, float* y, int64_t nb) {
    for (int64_t b = 0; b < nb; ++b, s += 144) {
        const float d = get_half(s), dmin = get_half(s + 2);
        const uint8_t* q = s + 16;
        for (int c = 0; c < 4; ++c, q += 32) {
            int sc, m;
            scale_min_k4(s + 4, 2 * c, &sc, &m);
            const float d1 = d * (float)sc, m1 = dmin * (float)m;
            scale_min_k4(s + 4, 2 * c + 1, &sc, &m);
            const float d2 = d * (float)sc, m2 = dmin * (float)m;
            for (int l = 0; l < 32; ++l) *y++ = d1 * (float)(q[l] & 0xF) - m1;
            for (int l = 0; l < 32; ++l) *y++ = d2 * (float)(q[l] >> 4) - m2;
        }
    }
}

void dq_q5_k(const uint8_t* s, float* y, int64_t nb) {
    for (int64_t b = 0; b < nb; ++b, s += 176) {
        const float d = get_half(s), dmin = get_half(s + 2);
        const uint8_t* qh = s + 16;
        const uint8_t* ql = s + 48;
        for (int c = 0; c < 4; ++c, ql += 32) {
            int sc, m;
            scale_min_k4(s + 4, 2 * c, &sc, &m);
            const float d1 = d * (float)sc, m1 = dmin * (float)m;
            scale_min_k4(s + 4, 2 * c + 1, &sc, &m);
            const float d2 = d * (float)sc, m2 = dmin * (float)m;
            const uint8_t u1 = (uint8_t)(1u << (2 * c)), u2 = (uint8_t)(2u << (2 * c));
            for (int l = 0; l < 32; ++l) *y++ = d1 * (float)((ql[l] & 0xF) + ((qh[l] & u1) ? 16 : 0)) - m1;
            for (int l = 0; l < 32; ++l) *y++ = d2 * (float)((ql[l] >> 4) + ((qh[l] & u2) ? 16 : 0)) - m2;
        }
    }
}

void dq_q6_k(const uint8_t* s, float* y, int64_t nb) {
    for (int64_t b = 0; b < nb; ++b, s += 210) {
        const float d = get_half(s + 208);
        const uint8_t* ql = s;
        const uint8_t* qh = s + 128;
        const int8_t* sc = reinterpret_cast<const int8_t*>(s + 192);
        for (int h = 0; h < 2; ++h, ql += 64, qh += 32, sc += 8, y += 128) {
            for (int l = 0; l < 32; ++l) {
                const int is = l / 16;
                const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
                const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                y[l] = d * (float)sc[is] * (float)q1;
                y[l + 32] = d * (float)sc[is + 2] * (float)q2;
                y[l + 64] = d * (float)sc[is + 4] * (float)q3;
                y[l + 96] = d * (float)sc[is + 6] * (float)q4;
            }
        }
    }
}

}  // namespace

DequantFn dequant_fn(int type) {
    switch (type) {
        case FABRIC_QT_Q4_0: return dq_q4_0;
        case FABRIC_QT_Q4_1: return dq_q4_1;
        case FABRIC_QT_Q5_0: return dq_q5_0;
        case FABRIC_QT_Q5_1: return dq_q5_1;
        case FABRIC_QT_Q8_0: return dq_q8_0;
        case FABRIC_QT_Q2_K: return dq_q2_k;
        case FABRIC_QT_Q3_K: return dq_q3_k;
        case FABRIC_QT_Q4_K: return dq_q4_k;
        case FABRIC_QT_Q5_K: return dq_q5_k;
        case FABRIC_QT_Q6_K: return dq_q6_k;
        case FABRIC_QT_IQ4_NL: return dq_iq4_nl;
        case FABRIC_QT_IQ4_XS: return dq_iq4_xs;
        default: return nullptr;
    }
}

}  // namespace fq
