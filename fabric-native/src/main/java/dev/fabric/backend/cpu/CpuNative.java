package dev.fabric.backend.cpu;

import java.nio.FloatBuffer;
import java.nio.ShortBuffer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.ShortPointer;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.Platform;

/**
 * JNI surface of {@code fabric_cpu.h}: one static method per C function, whole rows per call. The variant
 * files and the dispatcher form one translation unit, in this order. Use {@link CpuKernels}, which checks
 * bounds and variants, rather than these methods directly.
 *
 * <p>F16/BF16 values travel as raw 16-bit patterns in {@code short}s. Pointer arguments start at their
 * {@code position()}; buffer arguments (direct, or heap and array-backed) at theirs.
 */
@Platform(include = {
    "fabric_cpu.h", "fabric_kernels.h",
    "fabric_kernels_generic.cpp", "fabric_kernels_avx2.cpp", "fabric_kernels_avx512.cpp",
    "fabric_kernels_neon.cpp", "fabric_cpu.cpp"})
public final class CpuNative {
    static {
        Loader.load();
    }

    private CpuNative() {}

    /** Ensures the native library is loaded; call before allocating any JavaCPP pointer. */
    public static void load() {
        // the static initialiser does the work
    }

    public static native int fabric_cpu_features();

    public static native int fabric_variants_compiled();

    public static native int fabric_variants_available();

    public static native int fabric_variant_best();

    public static native int fabric_f16_to_f32(int variant, @Cast("const uint16_t*") ShortPointer x, FloatPointer y, long n);

    public static native int fabric_f16_to_f32(int variant, @Cast("const uint16_t*") ShortBuffer x, FloatBuffer y, long n);

    public static native int fabric_f32_to_f16(int variant, FloatPointer x, @Cast("uint16_t*") ShortPointer y, long n);

    public static native int fabric_f32_to_f16(int variant, FloatBuffer x, @Cast("uint16_t*") ShortBuffer y, long n);

    public static native int fabric_bf16_to_f32(int variant, @Cast("const uint16_t*") ShortPointer x, FloatPointer y, long n);

    public static native int fabric_bf16_to_f32(int variant, @Cast("const uint16_t*") ShortBuffer x, FloatBuffer y, long n);

    public static native int fabric_f32_to_bf16(int variant, FloatPointer x, @Cast("uint16_t*") ShortPointer y, long n);

    public static native int fabric_f32_to_bf16(int variant, FloatBuffer x, @Cast("uint16_t*") ShortBuffer y, long n);

    public static native float fabric_dot_f32(int variant, FloatPointer x, FloatPointer y, long n);

    public static native float fabric_dot_f32(int variant, FloatBuffer x, FloatBuffer y, long n);

    public static native float fabric_dot_f16_f32(int variant, @Cast("const uint16_t*") ShortPointer x, FloatPointer y, long n);

    public static native float fabric_dot_f16_f32(int variant, @Cast("const uint16_t*") ShortBuffer x, FloatBuffer y, long n);

    public static native float fabric_dot_bf16_f32(int variant, @Cast("const uint16_t*") ShortPointer x, FloatPointer y, long n);

    public static native float fabric_dot_bf16_f32(int variant, @Cast("const uint16_t*") ShortBuffer x, FloatBuffer y, long n);

    public static native int fabric_axpy_f32(int variant, float a, FloatPointer x, FloatPointer y, long n);

    public static native int fabric_axpy_f32(int variant, float a, FloatBuffer x, FloatBuffer y, long n);

    public static native int fabric_scale_f32(int variant, float a, FloatPointer x, long n);

    public static native int fabric_scale_f32(int variant, float a, FloatBuffer x, long n);
}
