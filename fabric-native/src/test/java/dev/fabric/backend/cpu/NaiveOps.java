package dev.fabric.backend.cpu;

/**
 * Plain-Java reference of every engine op (llm.c style): the oracle the native kernels are tested against.
 * Written for clarity, in double precision, with the same input rounding as the kernels' documented numerics
 * (x rounded to the weight's dot type in matmul, q to F16 against an F16 KV cache). Arrays are row-major.
 */
final class NaiveOps {
    private NaiveOps() {}

    static float f16(float x) {
        return Float.float16ToFloat(Float.floatToFloat16(x));
    }

    static short bf16Bits(float x) {
        int u = Float.floatToRawIntBits(x);
        if ((u & 0x7fffffff) > 0x7f800000) return (short) ((u >>> 16) | 64);
        return (short) ((u + (0x7fff + ((u >>> 16) & 1))) >>> 16);
    }

    static float bf16(float x) {
        return Float.intBitsToFloat((bf16Bits(x) & 0xffff) << 16);
    }

    /** x rounded as the matmul kernel rounds activations for a weight of this ggml type. */
    static float roundTo(int ggmlType, float x) {
        return switch (ggmlType) {
            case 0 -> x;
            case 1 -> f16(x);
            case 30 -> bf16(x);
            default -> throw new IllegalArgumentException("type " + ggmlType);
        };
    }

    static float[] get_rows(float[] table, int rowLen, int[] ids) {
        float[] out = new float[ids.length * rowLen];
        for (int i = 0; i < ids.length; i++) System.arraycopy(table, ids[i] * rowLen, out, i * rowLen, rowLen);
        return out;
    }

    /** y[m, n] = x[m, k] . w[n, k]^T with x rounded to the weight's dot type; w already in its stored values. */
    static double[] matmul(float[] x, int m, int k, float[] w, int n, int wType) {
        double[] y = new double[m * n];
        for (int r = 0; r < m; r++)
            for (int c = 0; c < n; c++) {
                double s = 0;
                for (int i = 0; i < k; i++) s += (double) roundTo(wType, x[r * k + i]) * w[c * k + i];
                y[r * n + c] = s;
            }
        return y;
    }

    static double[] rms_norm(float[] x, int rows, int n, float eps) {
        double[] y = new double[x.length];
        for (int r = 0; r < rows; r++) {
            double ss = 0;
            for (int i = 0; i < n; i++) ss += (double) x[r * n + i] * x[r * n + i];
            double scale = 1.0 / Math.sqrt(ss / n + eps);
            for (int i = 0; i < n; i++) y[r * n + i] = x[r * n + i] * scale;
        }
        return y;
    }

    /** Rotary embedding; the angle of pair i is pos * base^(-2i/nRot). */
    static double[] rope(float[] x, int tokens, int heads, int headDim, int nRot, int[] pos, float base, boolean neox) {
        double[] y = new double[x.length];
        for (int i = 0; i < x.length; i++) y[i] = x[i];
        for (int t = 0; t < tokens; t++)
            for (int h = 0; h < heads; h++) {
                int o = (t * heads + h) * headDim;
                for (int i = 0; i < nRot / 2; i++) {
                    double theta = pos[t] * Math.pow(base, -2.0 * i / nRot);
                    int i0 = neox ? i : 2 * i, i1 = neox ? i + nRot / 2 : 2 * i + 1;
                    double x0 = x[o + i0], x1 = x[o + i1];
                    y[o + i0] = x0 * Math.cos(theta) - x1 * Math.sin(theta);
                    y[o + i1] = x0 * Math.sin(theta) + x1 * Math.cos(theta);
                }
            }
        return y;
    }

    /**
     * Causal GQA attention: q [nQ, heads, d]; k, v [nKv, kvHeads, d] (values as stored); query i at position
     * qPos0 + i sees keys 0..qPos0+i. F32 cache: exact softmax in double. F16 cache: the documented llama.cpp
     * flash-attention numerics (q in F16, online softmax, the V sum rounded to F16 after every update).
     */
    static double[] attention(float[] q, int nQ, int heads, int d, float[] k, float[] v, int nKv, int kvHeads,
            int qPos0, float scale, boolean f16Cache) {
        double[] out = new double[nQ * heads * d];
        int group = heads / kvHeads;
        for (int i = 0; i < nQ; i++)
            for (int h = 0; h < heads; h++) {
                int g = h / group, visible = Math.min(nKv, qPos0 + i + 1), o = (i * heads + h) * d;
                if (f16Cache) {
                    float mx = Float.NEGATIVE_INFINITY, sum = 0;
                    float[] acc = new float[d];
                    for (int j = 0; j < visible; j++) {
                        double dot = 0;
                        for (int e = 0; e < d; e++) dot += f16(q[o + e]) * k[(j * kvHeads + g) * d + e];
                        float s = (float) dot * scale, ms = 1, vs = 1;
                        if (s > mx) {
                            ms = (float) Math.exp(mx - s);
                            mx = s;
                            for (int e = 0; e < d; e++) acc[e] = f16(acc[e] * ms);
                        } else {
                            vs = (float) Math.exp(s - mx);
                        }
                        for (int e = 0; e < d; e++) acc[e] = f16(Math.fma(v[(j * kvHeads + g) * d + e], vs, acc[e]));
                        sum = Math.fma(sum, ms, vs);
                    }
                    for (int e = 0; e < d; e++) out[o + e] = acc[e] / sum;
                    continue;
                }
                double[] s = new double[visible];
                double mx = Double.NEGATIVE_INFINITY;
                for (int j = 0; j < visible; j++) {
                    double dot = 0;
                    for (int e = 0; e < d; e++) dot += (double) q[o + e] * k[(j * kvHeads + g) * d + e];
                    s[j] = dot * scale;
                    mx = Math.max(mx, s[j]);
                }
                double sum = 0;
                for (int j = 0; j < visible; j++) sum += (s[j] = Math.exp(s[j] - mx));
                for (int e = 0; e < d; e++) {
                    double acc = 0;
                    for (int j = 0; j < visible; j++) acc += s[j] * v[(j * kvHeads + g) * d + e];
                    out[o + e] = acc / sum;
                }
            }
        return out;
    }

    static double[] softmax(float[] x, int rows, int n) {
        double[] y = new double[x.length];
        for (int r = 0; r < rows; r++) {
            double mx = Double.NEGATIVE_INFINITY, sum = 0;
            for (int i = 0; i < n; i++) mx = Math.max(mx, x[r * n + i]);
            for (int i = 0; i < n; i++) sum += (y[r * n + i] = Math.exp(x[r * n + i] - mx));
            for (int i = 0; i < n; i++) y[r * n + i] /= sum;
        }
        return y;
    }

    static double[] swiglu(float[] gate, float[] up) {
        double[] y = new double[gate.length];
        for (int i = 0; i < y.length; i++) y[i] = gate[i] / (1 + Math.exp(-gate[i])) * up[i];
        return y;
    }

    static double[] add(float[] a, int n, float[] b) {
        double[] y = new double[a.length];
        for (int i = 0; i < a.length; i++) y[i] = (double) a[i] + b[i % b.length];
        return y;
    }

    static double[] mul(float[] a, int n, float[] b) {
        double[] y = new double[a.length];
        for (int i = 0; i < a.length; i++) y[i] = (double) a[i] * b[i % b.length];
        return y;
    }

    static double[] scale(float[] a, float s) {
        double[] y = new double[a.length];
        for (int i = 0; i < a.length; i++) y[i] = (double) a[i] * s;
        return y;
    }

    // ---- block-quantized weights (ggml layouts, shared/specs/quantization.md section 2) -------------------

    /** Level j (centred: value = d * level) of a Q4_0 / Q5_0 / Q8_0 block starting at byte o. */
    static int level(int ggmlType, byte[] row, int o, int j) {
        switch (ggmlType) {
            case 8:
                return row[o + 2 + j];
            case 6: {
                int qh = (row[o + 2] & 0xff) | (row[o + 3] & 0xff) << 8 | (row[o + 4] & 0xff) << 16 | (row[o + 5] & 0xff) << 24;
                int nib = j < 16 ? row[o + 6 + j] & 0x0f : (row[o + 6 + j - 16] & 0xff) >> 4;
                return (nib | ((qh >>> j) & 1) << 4) - 16;
            }
            case 2: {
                int nib = j < 16 ? row[o + 2 + j] & 0x0f : (row[o + 2 + j - 16] & 0xff) >> 4;
                return nib - 8;
            }
            default:
                throw new IllegalArgumentException("type " + ggmlType);
        }
    }

    static float blockScale(byte[] row, int o) {
        return Float.float16ToFloat((short) ((row[o] & 0xff) | (row[o + 1] & 0xff) << 8));
    }

    static float[] dequantize(int ggmlType, int blockBytes, byte[] data, int n) {
        float[] y = new float[n];
        for (int b = 0; b < n / 32; b++)
            for (int j = 0; j < 32; j++) y[b * 32 + j] = blockScale(data, b * blockBytes) * level(ggmlType, data, b * blockBytes, j);
        return y;
    }

    /**
     * y = x . w^T for block-quantized w: x rows quantized to Q8_0 (d = amax/127 as F16, levels
     * round-half-even(x * 127/amax)), then per block (d_w * d_x) * integer dot.
     */
    static double[] matmulQuant(float[] x, int m, int k, byte[] w, int n, int ggmlType, int blockBytes) {
        double[] y = new double[m * n];
        int nb = k / 32;
        for (int r = 0; r < m; r++) {
            int[] qx = new int[k];
            float[] dx = new float[nb];
            for (int b = 0; b < nb; b++) {
                float amax = 0;
                for (int j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[r * k + b * 32 + j]));
                float id = amax != 0 ? 127f / amax : 0f;
                dx[b] = f16(amax / 127f);
                for (int j = 0; j < 32; j++) qx[b * 32 + j] = (int) Math.rint(x[r * k + b * 32 + j] * id);
            }
            for (int c = 0; c < n; c++) {
                double s = 0;
                for (int b = 0; b < nb; b++) {
                    int o = (c * nb + b) * blockBytes;
                    long sumi = 0;
                    for (int j = 0; j < 32; j++) sumi += (long) level(ggmlType, w, o, j) * qx[b * 32 + j];
                    s += (double) (blockScale(w, o) * dx[b]) * sumi;
                }
                y[r * n + c] = s;
            }
        }
        return y;
    }
}
