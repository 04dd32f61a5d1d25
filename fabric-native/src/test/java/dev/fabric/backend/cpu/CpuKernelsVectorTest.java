package dev.fabric.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import dev.fabric.backend.cpu.CpuKernels.Variant;
import java.util.SplittableRandom;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.ShortPointer;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * dot, axpy and scale, every variant, every awkward size, at aligned and unaligned offsets, against plain
 * Java. Where the result is exactly determined it is compared exactly:
 * <ul>
 *   <li>dot of small integers (|x|,|y| <= 8, n <= 4097: every product and partial sum is an integer below
 *       2^24, so F32 arithmetic is exact in any order): catches a lost, repeated or misread element;
 *   <li>axpy: {@code Math.fma(a, x, y)} for the SIMD variants (one rounding), {@code y + a*x} in Java float
 *       arithmetic for the generic one (two roundings); scale: {@code x*a}.
 * </ul>
 * dot of general values depends on the summation order, so it is bounded: with u = 2^-24, any evaluation
 * order of an n-term inner product in F32 (products rounded or fused, zero padding exact) errs by at most
 * gamma(n) * sum|x_i*y_i|, gamma(n) = n*u/(1 - n*u) (Higham, Accuracy and Stability of Numerical Algorithms,
 * 2nd ed., eq. 3.5). The test allows gamma(n+1) against a double-precision reference whose own error
 * (about n * 2^-53 relative) is negligible beside it.
 */
class CpuKernelsVectorTest {

    static final double U = 0x1p-24;

    @ParameterizedTest(name = "{arguments}")
    @MethodSource("dev.fabric.backend.cpu.KernelCases#variantsAndSizes")
    void dotOfSmallIntegersIsExact(Variant v, int n) {
        CpuKernels k = CpuKernels.of(v);
        SplittableRandom rnd = new SplittableRandom(n);
        float[] x = new float[n], y = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = rnd.nextInt(-8, 9);
            y[i] = rnd.nextInt(-8, 9);
        }
        double want = 0;
        for (int i = 0; i < n; i++) want += x[i] * y[i];
        for (int off : KernelCases.OFFSETS) {
            try (FloatPointer px = row(x, off); FloatPointer py = row(y, off + 2);
                 ShortPointer hx = halves(x, off, false); ShortPointer bx = halves(x, off, true)) {
                assertEquals((float) want, k.dot(px.position(off), py.position(off + 2), n), "dot f32, offset " + off);
                assertEquals((float) want, k.dotF16(hx.position(off), py.position(off + 2), n), "dot f16, offset " + off);
                assertEquals((float) want, k.dotBf16(bx.position(off), py.position(off + 2), n), "dot bf16, offset " + off);
            }
        }
    }

    @ParameterizedTest(name = "{arguments}")
    @MethodSource("dev.fabric.backend.cpu.KernelCases#variantsAndSizes")
    void dotWithinRoundingBound(Variant v, int n) {
        CpuKernels k = CpuKernels.of(v);
        SplittableRandom rnd = new SplittableRandom(1000 + n);
        float[] x = new float[n], y = new float[n];
        for (int i = 0; i < n; i++) {
            // mixed magnitudes and signs, so that cancellation and order matter
            x[i] = (float) (rnd.nextDouble(-1, 1) * Math.scalb(1.0, rnd.nextInt(-6, 7)));
            y[i] = (float) rnd.nextDouble(-1, 1);
        }
        // F16/BF16 operands: round x first; the widening in the kernel is exact, so the same bound holds.
        float[] xh = new float[n], xb = new float[n];
        for (int i = 0; i < n; i++) {
            xh[i] = Float.float16ToFloat(Float.floatToFloat16(x[i]));
            xb[i] = Float.intBitsToFloat((CpuKernelsConversionTest.f32ToBf16Ref(Float.floatToRawIntBits(x[i])) & 0xffff) << 16);
        }
        try (FloatPointer px = row(x, 1); FloatPointer py = row(y, 0);
             ShortPointer hx = halves(x, 3, false); ShortPointer bx = halves(x, 3, true)) {
            check("dot f32", x, y, k.dot(px.position(1), py, n));
            check("dot f16", xh, y, k.dotF16(hx.position(3), py, n));
            check("dot bf16", xb, y, k.dotBf16(bx.position(3), py, n));
        }
    }

    private static void check(String what, float[] x, float[] y, float got) {
        int n = x.length;
        double exact = 0, abs = 0;
        for (int i = 0; i < n; i++) {
            double p = (double) x[i] * y[i];  // exact: 24 + 24 significant bits fit in 53
            exact += p;
            abs += Math.abs(p);
        }
        double bound = (n + 1) * U / (1 - (n + 1) * U) * abs;
        double err = Math.abs(got - exact);
        if (!(err <= bound)) fail(what + " n=" + n + ": |" + got + " - " + exact + "| = " + err + " > bound " + bound);
    }

    @ParameterizedTest(name = "{arguments}")
    @MethodSource("dev.fabric.backend.cpu.KernelCases#variantsAndSizes")
    void axpyAndScaleRoundAsStated(Variant v, int n) {
        CpuKernels k = CpuKernels.of(v);
        boolean fused = v != Variant.GENERIC;
        SplittableRandom rnd = new SplittableRandom(7 * n + 1);
        float[] x = new float[n], y = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) rnd.nextDouble(-4, 4);
            y[i] = (float) rnd.nextDouble(-4, 4);
        }
        float a = 0.7431f;
        for (int off : KernelCases.OFFSETS) {
            try (FloatPointer px = row(x, off + 1); FloatPointer py = row(y, off)) {
                k.axpy(a, px.position(off + 1), py.position(off), n);
                for (int i = 0; i < n; i++) {
                    float want = fused ? Math.fma(a, x[i], y[i]) : y[i] + a * x[i];
                    float got = py.get(i);
                    if (Float.floatToIntBits(got) != Float.floatToIntBits(want))
                        fail(v + " axpy element " + i + ": " + got + ", expected " + want + (fused ? " (fused)" : " (mul, add)"));
                }
                assertGuards(py, off, n);
                k.scale(-1.25e-3f, py.position(off), n);
                py.position(0);
                for (int i = 0; i < n; i++) {
                    float before = fused ? Math.fma(a, x[i], y[i]) : y[i] + a * x[i];
                    assertEquals(before * -1.25e-3f, py.get(off + i), 0f, "scale element " + i);
                }
                assertGuards(py, off, n);
            }
        }
    }

    static final float GUARD = -12345.5f;

    /** n floats at element offset off, with guard values before and 8 after. Position left at 0. */
    static FloatPointer row(float[] v, int off) {
        FloatPointer p = new FloatPointer(off + v.length + 8);
        for (long i = 0; i < p.capacity(); i++) p.put(i, GUARD);
        p.position(off).put(v).position(0);
        return p;
    }

    /** v rounded to F16 (or BF16) bit patterns at element offset off. */
    static ShortPointer halves(float[] v, int off, boolean bf16) {
        short[] h = new short[v.length];
        for (int i = 0; i < v.length; i++)
            h[i] = bf16 ? CpuKernelsConversionTest.f32ToBf16Ref(Float.floatToRawIntBits(v[i])) : Float.floatToFloat16(v[i]);
        ShortPointer p = new ShortPointer(off + v.length + 8);
        p.position(off).put(h).position(0);
        return p;
    }

    static void assertGuards(FloatPointer p, int off, int n) {
        p.position(0);
        for (int i = 0; i < p.capacity(); i++)
            if ((i < off || i >= off + n) && p.get(i) != GUARD) fail("element " + i + " outside the row was written");
    }
}
