package dev.fabric.backend.cpu;

import dev.fabric.backend.RefOps;

/**
 * The CPU tests' access to the portable reference ({@link RefOps}) in the kernels' argument shapes (float inputs,
 * ggml type ids), plus the block-quantized weight layouts the CPU kernels' tests build by hand.
 */
final class NaiveOps {
    private NaiveOps() {}

    static float f16(float x) {
        return RefOps.f16(x);
    }

    static short bf16Bits(float x) {
        return RefOps.bf16Bits(x);
    }

    static float bf16(float x) {
        return RefOps.bf16(x);
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
        float[] xr = new float[x.length];
        for (int i = 0; i < x.length; i++) xr[i] = roundTo(wType, x[i]);
        return RefOps.matmul(RefOps.toDouble(xr), m, k, RefOps.toDouble(w), n);
    }

    static double[] rms_norm(float[] x, int rows, int n, float eps) {
        return RefOps.rmsNorm(RefOps.toDouble(x), rows, n, eps);
    }

    /** Rotary embedding; the angle of pair i is pos * base^(-2i/nRot). */
    static double[] rope(float[] x, int tokens, int heads, int headDim, int nRot, int[] pos, float base, boolean neox) {
        return RefOps.rope(RefOps.toDouble(x), tokens, heads, headDim, nRot, pos, base, neox);
    }

    /** {@link RefOps#attentionCached}. */
    static double[] attention(float[] q, int nQ, int heads, int d, float[] k, float[] v, int nKv, int kvHeads,
            int qPos0, float scale, boolean f16Cache) {
        return RefOps.attentionCached(q, nQ, heads, d, k, v, nKv, kvHeads, qPos0, scale, f16Cache);
    }

    static double[] softmax(float[] x, int rows, int n) {
        return RefOps.softmax(RefOps.toDouble(x), rows, n);
    }

    static double[] swiglu(float[] gate, float[] up) {
        return RefOps.swiglu(RefOps.toDouble(gate), RefOps.toDouble(up));
    }

    static double[] add(float[] a, int n, float[] b) {
        return RefOps.add(RefOps.toDouble(a), RefOps.toDouble(b));
    }

    static double[] mul(float[] a, int n, float[] b) {
        return RefOps.mul(RefOps.toDouble(a), RefOps.toDouble(b));
    }

    static double[] scale(float[] a, float s) {
        return RefOps.scale(RefOps.toDouble(a), s);
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
