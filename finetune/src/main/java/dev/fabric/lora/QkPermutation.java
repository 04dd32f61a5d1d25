package dev.fabric.lora;

import java.nio.FloatBuffer;

/**
 * The row order of Llama q/k weights in GGUF versus Hugging Face (training.md): per head of d rows, Hugging Face
 * keeps the rotary halves apart (rows i·d/2 + j, i ∈ {0, 1}, j < d/2) and llama.cpp's converter interleaves them
 * (row 2j + i), i.e. reshape the rows to [heads, 2, d/2] and swap the last two axes. A LoRA's B (rows = the
 * weight's output rows) takes the same permutation; A is unchanged.
 */
public final class QkPermutation {
    private QkPermutation() {}

    /** GGUF row index of Hugging Face row {@code hf}, for {@code rows} rows over {@code heads} heads. */
    public static int ggufRowOfHf(int hf, int rows, int heads) {
        int d = headDim(rows, heads), h = hf / d, k = hf % d, half = d / 2;
        int i = k / half, j = k % half;
        return h * d + 2 * j + i;
    }

    /** Copies the rows of {@code src} ([rows, cols], GGUF order) into {@code dst} in Hugging Face order. */
    public static void ggufToHf(FloatBuffer src, FloatBuffer dst, int rows, int cols, int heads) {
        for (int hf = 0; hf < rows; hf++) copyRow(src, ggufRowOfHf(hf, rows, heads), dst, hf, cols);
    }

    /** Copies the rows of {@code src} ([rows, cols], Hugging Face order) into {@code dst} in GGUF order. */
    public static void hfToGguf(FloatBuffer src, FloatBuffer dst, int rows, int cols, int heads) {
        for (int hf = 0; hf < rows; hf++) copyRow(src, hf, dst, ggufRowOfHf(hf, rows, heads), cols);
    }

    private static void copyRow(FloatBuffer src, int from, FloatBuffer dst, int to, int cols) {
        for (int c = 0; c < cols; c++) dst.put(to * cols + c, src.get(from * cols + c));
    }

    private static int headDim(int rows, int heads) {
        if (heads < 1 || rows % heads != 0 || (rows / heads) % 2 != 0)
            throw new IllegalArgumentException(rows + " rows do not split into " + heads + " heads of even size");
        return rows / heads;
    }
}
