package dev.fabric.backend.cpu;

/**
 * Naive K-quant oracle written from shared/specs/quantization.md section 2: Q4_K / Q5_K / Q6_K super-blocks
 * (256 elements) decoded to (scale, level) per element, activations quantized to Q8_K (ggml's reference
 * rounding), and the dot products those give with integer sums per sub-block. Independent of the C++ kernels.
 */
final class NaiveKQuants {
    static final int QK = 256;

    private NaiveKQuants() {}

    static int blockBytes(int type) {
        return switch (type) {
            case 12 -> 144;
            case 13 -> 176;
            case 14 -> 210;
            default -> throw new IllegalArgumentException("type " + type);
        };
    }

    private static int u8(byte[] a, int i) {
        return a[i] & 0xff;
    }

    private static float half(byte[] a, int o) {
        return Float.float16ToFloat((short) (u8(a, o) | u8(a, o + 1) << 8));
    }

    /** Unsigned level q (Q4_K 0..15, Q5_K 0..31, Q6_K 0..63) of element e of the block at o. */
    static int level(int type, byte[] w, int o, int e) {
        if (type == 14) { // ql[128] qh[64] scales[16] d
            int h = e / 128, r = e % 128, quarter = r / 32, l = r % 32;
            int ql = u8(w, o + 64 * h + (quarter % 2) * 32 + l);
            int nib = quarter < 2 ? ql & 15 : ql >> 4;
            int hi = (u8(w, o + 128 + 32 * h + l) >> (2 * quarter)) & 3;
            return nib | hi << 4;
        }
        int c = e / 64, half = (e % 64) / 32, l = e % 32;
        int qsOff = type == 12 ? 16 : 48;
        int b = u8(w, o + qsOff + 32 * c + l);
        int q = half == 0 ? b & 15 : b >> 4;
        if (type == 13) q |= ((u8(w, o + 16 + l) >> (2 * c + half)) & 1) << 4;
        return q;
    }

    /** 6-bit scale (s=0) or min (s=1) of sub-block j of a Q4_K/Q5_K block at o (12-byte packing at o+4). */
    static int scaleMin(byte[] w, int o, int j, int s) {
        int p = o + 4;
        if (j < 4) return u8(w, p + j + 4 * s) & 63;
        int low = s == 0 ? u8(w, p + j + 4) & 15 : u8(w, p + j + 4) >> 4;
        int high = u8(w, p + j - 4 * (1 - s)) >> 6;
        return low | high << 4;
    }

    static float[] dequantize(int type, byte[] w, int n) {
        float[] y = new float[n];
        int bb = blockBytes(type);
        for (int b = 0; b < n / QK; b++) {
            int o = b * bb;
            for (int e = 0; e < QK; e++) {
                int q = level(type, w, o, e);
                if (type == 14) {
                    y[b * QK + e] = half(w, o + 208) * w[o + 192 + e / 16] * (q - 32);
                } else {
                    float d = half(w, o), dmin = half(w, o + 2);
                    y[b * QK + e] = d * scaleMin(w, o, e / 32, 0) * q - dmin * scaleMin(w, o, e / 32, 1);
                }
            }
        }
        return y;
    }

    /** Q8_K rounding of x: returns levels, and per-block scales in d. */
    static int[] quantizeQ8K(float[] x, int off, int k, float[] d) {
        int[] q = new int[k];
        for (int b = 0; b < k / QK; b++) {
            float amax = 0, max = 0;
            for (int j = 0; j < QK; j++) {
                float v = x[off + b * QK + j];
                if (Math.abs(v) > amax) {
                    amax = Math.abs(v);
                    max = v;
                }
            }
            if (amax == 0) {
                d[b] = 0;
                continue;
            }
            float iscale = -127f / max;
            for (int j = 0; j < QK; j++) q[b * QK + j] = Math.min(127, nearestInt(iscale * x[off + b * QK + j]));
            d[b] = 1f / iscale;
        }
        return q;
    }

    /** ggml's nearest_int (spec 3.1): the 1.5 * 2^23 float-add trick, round half to even. */
    static int nearestInt(float f) {
        float v = f + 12582912f;
        return (Float.floatToRawIntBits(v) & 0x7fffff) - 0x400000;
    }

    /**
     * y = x . w^T with x rounded to Q8_K; per super-block the exact integer sums, scaled as the format says
     * (value = d*sc*q - dmin*m, or d*sc*(q-32)), accumulated in double.
     */
    static double[] matmul(float[] x, int m, int k, byte[] w, int n, int type) {
        double[] y = new double[m * n];
        int nb = k / QK, bb = blockBytes(type);
        for (int r = 0; r < m; r++) {
            float[] dx = new float[nb];
            int[] qx = quantizeQ8K(x, r * k, k, dx);
            for (int c = 0; c < n; c++) {
                double s = 0;
                for (int b = 0; b < nb; b++) {
                    int o = (c * nb + b) * bb;
                    long scaled = 0, mins = 0;
                    for (int e = 0; e < QK; e++) {
                        int q = level(type, w, o, e), xq = qx[b * QK + e];
                        if (type == 14) scaled += (long) w[o + 192 + e / 16] * (q - 32) * xq;
                        else {
                            scaled += (long) scaleMin(w, o, e / 32, 0) * q * xq;
                            mins += (long) scaleMin(w, o, e / 32, 1) * xq;
                        }
                    }
                    double dd = (double) dx[b] * (type == 14 ? half(w, o + 208) : half(w, o));
                    s += dd * scaled;
                    if (type != 14) s -= (double) dx[b] * half(w, o + 2) * mins;
                }
                y[r * n + c] = s;
            }
        }
        return y;
    }
}
