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
}
