package dev.fabric.backend.cpu;

/** {@link NaiveOps} for tests in other packages, in float arrays (each op's double result rounded to float). */
public final class NaiveOpsAccess {
    private NaiveOpsAccess() {}

    private static float[] f(double[] d) {
        float[] r = new float[d.length];
        for (int i = 0; i < d.length; i++) r[i] = (float) d[i];
        return r;
    }

    public static float[] getRows(float[] table, int rowLen, int[] ids) {
        return NaiveOps.get_rows(table, rowLen, ids);
    }

    public static float[] matmul(float[] x, int m, int k, float[] w, int n) {
        return f(NaiveOps.matmul(x, m, k, w, n, 0));
    }

    public static float[] rmsNorm(float[] x, int rows, int n, float eps) {
        return f(NaiveOps.rms_norm(x, rows, n, eps));
    }

    public static float[] rope(float[] x, int tokens, int heads, int headDim, int nRot, int[] pos, float base, boolean neox) {
        return f(NaiveOps.rope(x, tokens, heads, headDim, nRot, pos, base, neox));
    }

    public static float[] attention(float[] q, int nQ, int heads, int d, float[] k, float[] v, int nKv, int kvHeads,
            int qPos0, float scale) {
        return f(NaiveOps.attention(q, nQ, heads, d, k, v, nKv, kvHeads, qPos0, scale, false));
    }

    public static float[] swiglu(float[] g, float[] u) {
        return f(NaiveOps.swiglu(g, u));
    }

    public static float[] add(float[] a, int n, float[] b) {
        return f(NaiveOps.add(a, n, b));
    }

    public static float[] mul(float[] a, int n, float[] b) {
        return f(NaiveOps.mul(a, n, b));
    }
}
