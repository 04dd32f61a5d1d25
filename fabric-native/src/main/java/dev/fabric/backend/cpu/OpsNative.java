package dev.fabric.backend.cpu;

import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.Platform;

/**
 * JNI surface of {@code fabric_ops.h}: one static method per C function, one call per op over whole tensors.
 * Tensor memory travels as native addresses ({@code long}); callers ({@link CpuBackend}) check shapes and types
 * before calling, the kernels do not.
 */
// fabric_quant's dequantizers are compiled in as well (one definition, shared with QuantNative's library):
// get_rows and the dequantize-then-dot matmul fallback use them.
@Platform(include = {"fabric_ops.h", "fabric_cpu.h", "fabric_quant.h", "fabric_quant_common.h",
        "fabric_quant_dequant.cpp", "fabric_ops.cpp"})
public final class OpsNative {
    static {
        Loader.load();
        fabric_ops_set_variant_ceiling(CpuVariant.level());  // FABRIC_CPU_VARIANT, if set
    }

    public static final int TYPE_F32 = 0, TYPE_F16 = 1, TYPE_BF16 = 30;
    public static final int ROPE_NORMAL = 0, ROPE_NEOX = 2;

    private OpsNative() {}

    /** Ensures the native library is loaded. */
    public static void load() {
        // the static initialiser does the work
    }

    public static native int fabric_type_supported(int type);

    public static native long fabric_row_bytes(int type, long n);

    public static native @Cast("intptr_t") long fabric_alloc(long bytes);

    public static native void fabric_free(@Cast("void*") long p);

    public static native String fabric_ops_variant();

    public static final int VARIANT_GENERIC = 0, VARIANT_AVX2 = 1, VARIANT_AVX512 = 2;

    public static native int fabric_ops_best_variant();

    public static native int fabric_ops_set_variant(int cap);

    /** The process-wide ceiling of {@link CpuVariant}; {@link #fabric_ops_best_variant()} stays at or below it. */
    public static native int fabric_ops_set_variant_ceiling(int ceiling);

    /** 1: F16-cache attention one query row at a time (tests compare it with the grouped kernel); returns the previous. */
    public static native int fabric_ops_set_attention_rowwise(int on);

    public static native long fabric_op_get_rows(int type, @Cast("const void*") long table, long nRows, long rowLen,
            @Cast("const int32_t*") long ids, long nIds, @Cast("float*") long out, int threads);

    public static native void fabric_op_matmul(int wtype, @Cast("const void*") long w, long n, long k,
            @Cast("const float*") long x, long m, @Cast("float*") long y, int threads);

    public static native void fabric_op_rms_norm(@Cast("const float*") long x, long rows, long n, float eps,
            @Cast("float*") long y, int threads);

    public static native void fabric_op_rope(@Cast("const float*") long x, long nTokens, long nHead, long headDim,
            long nRot, @Cast("const int32_t*") long pos, float thetaBase, int mode, @Cast("float*") long y,
            int threads);

    public static native void fabric_op_attention(@Cast("const float*") long q, long nQ, long nHead, long headDim,
            int kvType, @Cast("const void*") long k, @Cast("const void*") long v, long nKv, long nHeadKv,
            long kvStride, long qPos0, float scale, @Cast("float*") long out, int threads);

    public static native void fabric_op_softmax(@Cast("const float*") long x, long rows, long n,
            @Cast("float*") long y, int threads);

    public static native void fabric_op_swiglu(@Cast("const float*") long gate, @Cast("const float*") long up,
            long rows, long n, @Cast("float*") long y, int threads);

    public static native void fabric_op_add(@Cast("const float*") long a, long rows, long n,
            @Cast("const float*") long b, long bRows, @Cast("float*") long y, int threads);

    public static native void fabric_op_mul(@Cast("const float*") long a, long rows, long n,
            @Cast("const float*") long b, long bRows, @Cast("float*") long y, int threads);

    public static native void fabric_op_scale(@Cast("const float*") long a, long n, float s, @Cast("float*") long y,
            int threads);

    public static native void fabric_convert_f32(@Cast("const float*") long x, long n, int type,
            @Cast("void*") long y, int threads);
}
