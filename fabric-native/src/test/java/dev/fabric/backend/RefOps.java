package dev.fabric.backend;

/**
 * The portable reference of every op: plain double-precision loops (llm.c style), written for clarity. It is the
 * oracle of every backend's forward kernels (OpsTest, {@link BackendConformanceTest}) and the function that
 * central finite differences differentiate for their backward kernels (GradOpsTest, ModelGradTest). Arrays are
 * row-major, last dimension contiguous. Where a kernel's documented numerics round an input first (x to the
 * weight's dot type in matmul, q to F16 against an F16 KV cache) the helpers here do the same rounding.
 */
public final class RefOps {
    private RefOps() {}

    /** y[m, n] = x[m, k] . w[n, k]^T. */
    public static double[] matmul(double[] x, int m, int k, double[] w, int n) {
        double[] y = new double[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int e = 0; e < k; e++) s += x[i * k + e] * w[j * k + e];
                y[i * n + j] = s;
            }
        return y;
    }

    public static double[] rmsNorm(double[] x, int rows, int n, double eps) {
        double[] y = new double[x.length];
        for (int r = 0; r < rows; r++) {
            double ss = 0;
            for (int i = 0; i < n; i++) ss += x[r * n + i] * x[r * n + i];
            double inv = 1 / Math.sqrt(ss / n + eps);
            for (int i = 0; i < n; i++) y[r * n + i] = x[r * n + i] * inv;
        }
        return y;
    }

    /** a * b with b's rows repeating. */
    public static double[] mul(double[] a, double[] b) {
        double[] y = new double[a.length];
        for (int i = 0; i < a.length; i++) y[i] = a[i] * b[i % b.length];
        return y;
    }

    public static double[] add(double[] a, double[] b) {
        double[] y = new double[a.length];
        for (int i = 0; i < a.length; i++) y[i] = a[i] + b[i % b.length];
        return y;
    }

    public static double[] scale(double[] a, double s) {
        double[] y = new double[a.length];
        for (int i = 0; i < a.length; i++) y[i] = a[i] * s;
        return y;
    }

    /** Rotary embedding of x [t, heads, d] at pos: pair i turns by pos * theta^(-2i/nRot). */
    public static double[] rope(double[] x, int t, int heads, int d, int nRot, int[] pos, double theta, boolean neox) {
        double[] y = x.clone();
        int half = nRot / 2;
        for (int tok = 0; tok < t; tok++)
            for (int h = 0; h < heads; h++) {
                int o = (tok * heads + h) * d;
                for (int i = 0; i < half; i++) {
                    double a = pos[tok] * Math.pow(theta, -2.0 * i / nRot);
                    int i0 = neox ? i : 2 * i, i1 = neox ? i + half : 2 * i + 1;
                    double x0 = x[o + i0], x1 = x[o + i1];
                    y[o + i0] = x0 * Math.cos(a) - x1 * Math.sin(a);
                    y[o + i1] = x0 * Math.sin(a) + x1 * Math.cos(a);
                }
            }
        return y;
    }

    /** Causal GQA attention over `batch` sequences of t tokens, keys limited to the query's segment. */
    public static double[] attention(double[] q, double[] k, double[] v, int[] seg, int batch, int t, int heads, int kvHeads,
            int d, double scale) {
        double[] out = new double[q.length];
        int group = heads / kvHeads;
        for (int b = 0; b < batch; b++)
            for (int i = 0; i < t; i++)
                for (int h = 0; h < heads; h++) {
                    int row = b * t + i, qo = (row * heads + h) * d, g = h / group;
                    double[] s = new double[i + 1];
                    double mx = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j <= i; j++) {
                        if (seg != null && seg[b * t + j] != seg[row]) {
                            s[j] = Double.NEGATIVE_INFINITY;
                            continue;
                        }
                        double dot = 0;
                        for (int e = 0; e < d; e++) dot += q[qo + e] * k[((b * t + j) * kvHeads + g) * d + e];
                        s[j] = dot * scale;
                        mx = Math.max(mx, s[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j <= i; j++) sum += (s[j] = Math.exp(s[j] - mx));
                    for (int j = 0; j <= i; j++)
                        for (int e = 0; e < d; e++) out[qo + e] += s[j] / sum * v[((b * t + j) * kvHeads + g) * d + e];
                }
        return out;
    }

    public static double[] softmax(double[] x, int rows, int n) {
        double[] y = new double[x.length];
        for (int r = 0; r < rows; r++) {
            double mx = Double.NEGATIVE_INFINITY, sum = 0;
            for (int i = 0; i < n; i++) mx = Math.max(mx, x[r * n + i]);
            for (int i = 0; i < n; i++) sum += (y[r * n + i] = Math.exp(x[r * n + i] - mx));
            for (int i = 0; i < n; i++) y[r * n + i] /= sum;
        }
        return y;
    }

    public static double[] swiglu(double[] g, double[] u) {
        double[] y = new double[g.length];
        for (int i = 0; i < y.length; i++) y[i] = g[i] / (1 + Math.exp(-g[i])) * u[i];
        return y;
    }

    public static double[] getRows(double[] table, int cols, int[] ids) {
        double[] y = new double[ids.length * cols];
        for (int i = 0; i < ids.length; i++) System.arraycopy(table, ids[i] * cols, y, i * cols, cols);
        return y;
    }

    /** Sum over rows with target >= 0 of logsumexp(row) - row[target]. */
    public static double crossEntropy(double[] logits, int rows, int vocab, int[] targets) {
        double loss = 0;
        for (int r = 0; r < rows; r++) {
            if (targets[r] < 0) continue;
            double mx = Double.NEGATIVE_INFINITY, sum = 0;
            for (int i = 0; i < vocab; i++) mx = Math.max(mx, logits[r * vocab + i]);
            for (int i = 0; i < vocab; i++) sum += Math.exp(logits[r * vocab + i] - mx);
            loss += mx + Math.log(sum) - logits[r * vocab + targets[r]];
        }
        return loss;
    }

    public static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += a[i] * b[i];
        return s;
    }

    /** Central differences of f at x, step h, for every element (or every `stride`-th). */
    public static double[] numericGrad(java.util.function.ToDoubleFunction<double[]> f, double[] x, double h) {
        double[] g = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            double keep = x[i];
            x[i] = keep + h;
            double up = f.applyAsDouble(x);
            x[i] = keep - h;
            double down = f.applyAsDouble(x);
            x[i] = keep;
            g[i] = (up - down) / (2 * h);
        }
        return g;
    }

    /** max |got - want| / max |want|: the normwise relative error the tests report. */
    public static double relError(float[] got, double[] want) {
        double num = 0, den = 1e-30;
        for (int i = 0; i < want.length; i++) {
            num = Math.max(num, Math.abs(got[i] - want[i]));
            den = Math.max(den, Math.abs(want[i]));
        }
        return num / den;
    }

    public static double[] toDouble(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) d[i] = f[i];
        return d;
    }

    // ---- input roundings of the kernels' documented numerics ---------------------------------------------

    /** x rounded to F16 (round to nearest even) and widened back. */
    public static float f16(float x) {
        return Float.float16ToFloat(Float.floatToFloat16(x));
    }

    /** x rounded to BF16 bits (round to nearest even; NaN stays NaN). */
    public static short bf16Bits(float x) {
        int u = Float.floatToRawIntBits(x);
        if ((u & 0x7fffffff) > 0x7f800000) return (short) ((u >>> 16) | 64);
        return (short) ((u + (0x7fff + ((u >>> 16) & 1))) >>> 16);
    }

    /** x rounded to BF16 and widened back. */
    public static float bf16(float x) {
        return Float.intBitsToFloat((bf16Bits(x) & 0xffff) << 16);
    }

    /** x rounded to a plain type's values (F32 unchanged, F16, BF16). */
    public static float roundTo(DType type, float x) {
        return switch (type) {
            case F32 -> x;
            case F16 -> f16(x);
            case BF16 -> bf16(x);
            default -> throw new IllegalArgumentException("no element rounding for " + type);
        };
    }

    /**
     * Causal GQA attention over a KV cache: q [nQ, heads, d]; k, v [nKv, kvHeads, d] (values as stored); query i
     * at position qPos0 + i sees keys 0..qPos0+i. F32 cache: exact softmax in double. F16 cache: the documented
     * llama.cpp flash-attention numerics (q in F16, online softmax, the V sum rounded to F16 after every update).
     */
    public static double[] attentionCached(float[] q, int nQ, int heads, int d, float[] k, float[] v, int nKv,
            int kvHeads, int qPos0, float scale, boolean f16Cache) {
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
}
