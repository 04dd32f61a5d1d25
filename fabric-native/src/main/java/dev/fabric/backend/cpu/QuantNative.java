package dev.fabric.backend.cpu;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.ShortPointer;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.Platform;

/**
 * JNI surface of {@code fabric_quant.h}: ggml block quantizers and dequantizers. Java callers use
 * {@link dev.fabric.quant.Quantizer}; this class only mirrors the C functions. The {@code long} overloads take
 * raw native addresses (memory-mapped GGUF data, direct buffers).
 */
@Platform(include = {"fabric_quant.h", "fabric_quant_common.h", "fabric_quant.cpp", "fabric_quant_kquants.cpp",
        "fabric_quant_dequant.cpp", "fabric_quant_batch.cpp"})
// fabric_cpu.h is included by fabric_quant_dequant.cpp for its FABRIC_ISA_* bits only; the features themselves
// come from CpuNative.fabric_cpu_features() through fabric_quant_set_isa (called when this class loads).
public final class QuantNative {
    static {
        Loader.load();
        // Dequantize with the best build this process may run (every build gives the same floats).
        fabric_quant_set_isa(CpuVariant.isaBits());
    }

    private QuantNative() {}

    /** Ensures the native library is loaded; call before allocating any JavaCPP pointer. */
    public static void load() {
        // the static initialiser does the work
    }

    public static final int ERR_TYPE = -1, ERR_SHAPE = -2;

    public static final int DQ_SCALAR = 0, DQ_AVX2 = 1, DQ_AVX512 = 2;

    public static native int fabric_quant_set_isa(int isaBits);

    public static native int fabric_quant_block_elems(int type);

    public static native int fabric_quant_block_bytes(int type);

    public static native long fabric_quantize(int type, FloatPointer src, long nrows, long ncols, FloatPointer imatrix,
                                              BytePointer dst, int nthreads);

    public static native long fabric_quantize(int type, @Cast("const float*") long src, long nrows, long ncols,
                                              @Cast("const float*") long imatrix, @Cast("void*") long dst, int nthreads);

    public static native long fabric_quantize_from(int type, int srcType, @Cast("const void*") long src, long nrows,
                                                   long ncols, @Cast("const float*") long imatrix, @Cast("void*") long dst,
                                                   int nthreads);

    public static native long fabric_dequantize(int type, BytePointer src, long nrows, long ncols, FloatPointer dst,
                                                int nthreads);

    public static native long fabric_dequantize(int type, @Cast("const void*") long src, long nrows, long ncols,
                                                @Cast("float*") long dst, int nthreads);

    public static native void fabric_quant_f16_to_f32(@Cast("const uint16_t*") ShortPointer src, FloatPointer dst, long n);

    public static native void fabric_quant_bf16_to_f32(@Cast("const uint16_t*") ShortPointer src, FloatPointer dst, long n);

    public static native void fabric_quant_f32_to_f16(FloatPointer src, @Cast("uint16_t*") ShortPointer dst, long n);

    public static native void fabric_quant_f32_to_f16(@Cast("const float*") long src, @Cast("uint16_t*") long dst, long n);
}
