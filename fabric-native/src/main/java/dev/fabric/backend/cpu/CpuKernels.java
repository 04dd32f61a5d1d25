package dev.fabric.backend.cpu;

import java.nio.Buffer;
import java.nio.FloatBuffer;
import java.nio.ShortBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.ShortPointer;

/**
 * Row conversions (F16/BF16 to and from F32) and vector primitives (dot, axpy, scale) on the CPU, in one
 * instruction-set {@link Variant}. {@link #auto()} runs the best variant this CPU has; {@link #of} pins
 * one (tests run every {@link #available()} variant against a plain Java reference).
 *
 * <p>F16 and BF16 values are raw 16-bit patterns in {@code short}s. Every method takes either JavaCPP
 * pointers (from {@code position()}, {@code n} elements) or NIO buffers (from {@code position()}, the
 * source's {@code remaining()} elements; direct, or heap: wrap an array with {@code FloatBuffer.wrap(a,
 * off, len)}; a direct little-endian {@code ByteBuffer} becomes one with {@code asShortBuffer()}). Buffer
 * positions are not moved. Heap buffers are copied across JNI, so large rows belong in pointers or direct
 * buffers.
 *
 * <p>Semantics (exact, identical in every variant): F32 to F16 rounds to nearest even, overflow gives inf,
 * NaN stays a quiet NaN with the top payload bits; F32 to BF16 rounds to nearest even on the bits (no
 * subnormal flush), NaN truncated and made quiet; widening is exact. {@code axpy} is {@code y += a*x}, one
 * rounding (fused) in the SIMD variants, two in {@link Variant#GENERIC}. Dot products sum in F32 lanes in a
 * variant-specific order.
 */
public final class CpuKernels {

    /** An instruction-set build of the kernels; the ordinal is the native variant number. */
    public enum Variant {
        GENERIC, AVX2, AVX512, NEON;

        /** Built into the native library (NEON only on AArch64, AVX* only on x86). */
        public boolean compiled() {
            return (CpuNative.fabric_variants_compiled() & (1 << ordinal())) != 0;
        }

        /** Compiled and supported by this CPU. */
        public boolean available() {
            return (AVAILABLE & (1 << ordinal())) != 0 && CpuVariant.allows(this);
        }
    }

    private static final int AVAILABLE = CpuNative.fabric_variants_available();
    private static final CpuKernels[] BY_VARIANT = new CpuKernels[Variant.values().length];

    static {
        for (Variant v : Variant.values()) BY_VARIANT[v.ordinal()] = new CpuKernels(v);
    }

    private final Variant variant;
    private final int id;

    private CpuKernels(Variant variant) {
        this.variant = variant;
        this.id = variant.ordinal();
    }

    /** The variants this CPU can run under the process's {@link CpuVariant}, generic first. */
    public static List<Variant> available() {
        List<Variant> out = new ArrayList<>();
        for (Variant v : Variant.values()) if (v.available()) out.add(v);
        return out;
    }

    /** The variant {@link #auto()} runs: the widest available. */
    public static Variant best() {
        return Variant.values()[CpuVariant.kernelsVariant(CpuNative.fabric_variant_best())];
    }

    public static CpuKernels auto() {
        return BY_VARIANT[best().ordinal()];
    }

    /** The kernels of one variant; it must be {@link Variant#available()} on this CPU. */
    public static CpuKernels of(Variant variant) {
        if (!variant.available())
            throw new IllegalArgumentException("kernel variant " + variant + " is not available on this CPU (available: "
                    + available() + ")");
        return BY_VARIANT[variant.ordinal()];
    }

    public Variant variant() {
        return variant;
    }

    // ---- pointers: n elements from each pointer's position ----

    public void f16ToF32(ShortPointer src, FloatPointer dst, long n) {
        check(n, src, dst);
        ok(CpuNative.fabric_f16_to_f32(id, src, dst, n));
    }

    public void f32ToF16(FloatPointer src, ShortPointer dst, long n) {
        check(n, src, dst);
        ok(CpuNative.fabric_f32_to_f16(id, src, dst, n));
    }

    public void bf16ToF32(ShortPointer src, FloatPointer dst, long n) {
        check(n, src, dst);
        ok(CpuNative.fabric_bf16_to_f32(id, src, dst, n));
    }

    public void f32ToBf16(FloatPointer src, ShortPointer dst, long n) {
        check(n, src, dst);
        ok(CpuNative.fabric_f32_to_bf16(id, src, dst, n));
    }

    /** sum x[i]*y[i] over n elements. */
    public float dot(FloatPointer x, FloatPointer y, long n) {
        check(n, x, y);
        return CpuNative.fabric_dot_f32(id, x, y, n);
    }

    /** sum f16(x[i])*y[i]: the row-times-activation step of an F16 matmul. */
    public float dotF16(ShortPointer x, FloatPointer y, long n) {
        check(n, x, y);
        return CpuNative.fabric_dot_f16_f32(id, x, y, n);
    }

    /** sum bf16(x[i])*y[i]. */
    public float dotBf16(ShortPointer x, FloatPointer y, long n) {
        check(n, x, y);
        return CpuNative.fabric_dot_bf16_f32(id, x, y, n);
    }

    /** y[i] += a*x[i]. */
    public void axpy(float a, FloatPointer x, FloatPointer y, long n) {
        check(n, x, y);
        ok(CpuNative.fabric_axpy_f32(id, a, x, y, n));
    }

    /** x[i] *= a. */
    public void scale(float a, FloatPointer x, long n) {
        check(n, x, x);
        ok(CpuNative.fabric_scale_f32(id, a, x, n));
    }

    // ---- buffers: src.remaining() elements from each buffer's position ----

    public void f16ToF32(ShortBuffer src, FloatBuffer dst) {
        int n = check(src, dst);
        ok(CpuNative.fabric_f16_to_f32(id, src, dst, n));
    }

    public void f32ToF16(FloatBuffer src, ShortBuffer dst) {
        int n = check(src, dst);
        ok(CpuNative.fabric_f32_to_f16(id, src, dst, n));
    }

    public void bf16ToF32(ShortBuffer src, FloatBuffer dst) {
        int n = check(src, dst);
        ok(CpuNative.fabric_bf16_to_f32(id, src, dst, n));
    }

    public void f32ToBf16(FloatBuffer src, ShortBuffer dst) {
        int n = check(src, dst);
        ok(CpuNative.fabric_f32_to_bf16(id, src, dst, n));
    }

    public float dot(FloatBuffer x, FloatBuffer y) {
        return CpuNative.fabric_dot_f32(id, x, y, checkRead(x, y));
    }

    public float dotF16(ShortBuffer x, FloatBuffer y) {
        return CpuNative.fabric_dot_f16_f32(id, x, y, checkRead(x, y));
    }

    public float dotBf16(ShortBuffer x, FloatBuffer y) {
        return CpuNative.fabric_dot_bf16_f32(id, x, y, checkRead(x, y));
    }

    public void axpy(float a, FloatBuffer x, FloatBuffer y) {
        int n = check(x, y);
        ok(CpuNative.fabric_axpy_f32(id, a, x, y, n));
    }

    public void scale(float a, FloatBuffer x) {
        int n = check(x, x);
        ok(CpuNative.fabric_scale_f32(id, a, x, n));
    }

    // ---- checks: the native side trusts its arguments ----

    private static void check(long n, Pointer a, Pointer b) {
        Objects.requireNonNull(a, "pointer");
        Objects.requireNonNull(b, "pointer");
        if (n < 0) throw new IllegalArgumentException("negative length " + n);
        fits(n, a);
        fits(n, b);
    }

    // A pointer of known extent (limit > 0, as JavaCPP sets on allocation) must hold position + n elements;
    // pointers of unknown extent (limit 0, e.g. cast from an address) are the caller's responsibility.
    private static void fits(long n, Pointer p) {
        if (p.isNull() && n > 0) throw new NullPointerException("null native pointer");
        if (p.position() < 0) throw new IndexOutOfBoundsException("negative position " + p.position());
        if (p.limit() > 0 && p.position() + n > p.limit())
            throw new IndexOutOfBoundsException("position " + p.position() + " + " + n + " elements exceeds limit " + p.limit());
    }

    private static int check(Buffer src, Buffer dst) {
        Objects.requireNonNull(src, "source buffer");
        Objects.requireNonNull(dst, "destination buffer");
        int n = src.remaining();
        if (dst.isReadOnly()) throw new IllegalArgumentException("destination buffer is read-only");
        if (dst.remaining() < n)
            throw new IndexOutOfBoundsException("destination has " + dst.remaining() + " elements left, source " + n);
        if (!src.isDirect() && !src.hasArray() || !dst.isDirect() && !dst.hasArray())
            throw new IllegalArgumentException("buffers must be direct or array-backed (a read-only heap buffer is neither)");
        return n;
    }

    // Two inputs: y must hold as many elements as x, neither is written.
    private static int checkRead(Buffer x, Buffer y) {
        Objects.requireNonNull(x, "x");
        Objects.requireNonNull(y, "y");
        int n = x.remaining();
        if (y.remaining() < n) throw new IndexOutOfBoundsException("y has " + y.remaining() + " elements left, x " + n);
        if (!x.isDirect() && !x.hasArray() || !y.isDirect() && !y.hasArray())
            throw new IllegalArgumentException("buffers must be direct or array-backed (a read-only heap buffer is neither)");
        return n;
    }

    private void ok(int rc) {
        if (rc != 0) throw new IllegalStateException("native kernel rejected variant " + variant + " (code " + rc + ")");
    }
}
