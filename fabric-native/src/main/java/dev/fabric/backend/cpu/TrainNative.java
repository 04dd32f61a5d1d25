package dev.fabric.backend.cpu;

import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.Platform;

/**
 * JNI surface of {@code fabric_train.h}: the backward kernels of the engine's ops (and the training-only forward
 * ops: attention with per-row log-sum-exp and segment masks, dropout, chunked cross-entropy). Tensor memory
 * travels as native addresses; {@link CpuBackend} checks shapes and types before calling.
 */
@Platform(include = {"fabric_train.h", "fabric_cpu.h", "fabric_quant.h", "fabric_quant_common.h",
        "fabric_quant_dequant.cpp", "fabric_train.cpp"})
public final class TrainNative {
    static {
        Loader.load();
    }

    private TrainNative() {}

    /** Ensures the native library is loaded. */
    public static void load() {
        // the static initialiser does the work
    }

    /** Caps the kernel variant (0 portable, 1 AVX2, 2 AVX-512); returns the variant now in use. */
    public static native int fabric_train_set_variant(int cap);

    public static native int fabric_train_matmul_backward_x(int wtype, @Cast("const void*") long w, long n, long k,
            @Cast("const float*") long dy, long m, @Cast("float*") long dx, int accumulate, int threads);

    public static native void fabric_train_matmul_backward_w(@Cast("const float*") long x, long m, long k,
            @Cast("const float*") long dy, long n, @Cast("float*") long dw, int threads);

    public static native void fabric_train_rms_norm_backward(@Cast("const float*") long x, @Cast("const float*") long dy,
            long rows, long n, float eps, @Cast("float*") long dx, int threads);

    public static native void fabric_train_column_sum(@Cast("const float*") long a, @Cast("const float*") long b,
            long rows, long n, @Cast("float*") long out, int threads);

    public static native void fabric_train_softmax_backward(@Cast("const float*") long y, @Cast("const float*") long dy,
            long rows, long n, @Cast("float*") long dx, int threads);

    public static native void fabric_train_swiglu_backward(@Cast("const float*") long gate,
            @Cast("const float*") long up, @Cast("const float*") long dy, long n, @Cast("float*") long dgate,
            @Cast("float*") long dup, int threads);

    public static native void fabric_train_dropout(@Cast("const float*") long x, long n, float p,
            @Cast("uint64_t") long seed, @Cast("float*") long y, int threads);

    public static native void fabric_train_get_rows_backward(@Cast("const float*") long dy,
            @Cast("const int32_t*") long ids, long nIds, long cols, @Cast("float*") long dtable, long nRows, int threads);

    public static native void fabric_train_attention(@Cast("const float*") long q, @Cast("const float*") long k,
            @Cast("const float*") long v, @Cast("const int32_t*") long seg, long batch, long t, long nHead,
            long nKvHead, long d, float scale, @Cast("float*") long out, @Cast("float*") long lse, int threads);

    public static native void fabric_train_attention_backward(@Cast("const float*") long q,
            @Cast("const float*") long k, @Cast("const float*") long v, @Cast("const int32_t*") long seg,
            @Cast("const float*") long out, @Cast("const float*") long lse, @Cast("const float*") long dout,
            long batch, long t, long nHead, long nKvHead, long d, float scale, @Cast("float*") long dq,
            @Cast("float*") long dk, @Cast("float*") long dv, int threads);

    public static native double fabric_train_cross_entropy(@Cast("float*") long logits,
            @Cast("const int32_t*") long targets, long rows, long vocab, float gradScale,
            @Cast("int64_t*") long[] count, int threads);
}
