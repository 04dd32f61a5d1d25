package dev.fabric.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import dev.fabric.backend.cpu.CpuKernels.Variant;
import java.util.SplittableRandom;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.ShortPointer;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * F16/BF16 row conversions, every variant, bit for bit. References: the JDK's {@link Float#float16ToFloat}
 * and {@link Float#floatToFloat16} (IEEE 754 binary16, round to nearest even) for every non-NaN value;
 * for NaN, whose bits the JDK does not specify, the rule this library states (quiet,
 * top payload bits kept, as F16C). BF16: a hand-written reference (round to nearest even by comparing the
 * dropped half with 0x8000; NaN truncated with the quiet bit 6 set, as ggml's fp32->bf16).
 * F32 values cross JNI as int bit patterns so that signalling NaNs reach the kernel untouched.
 */
class CpuKernelsConversionTest {

    static int f16ToF32Ref(short h) {
        if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff) != 0) {  // NaN: quiet bit set, 10 payload bits moved up
            return (h & 0x8000) << 16 | 0x7fc00000 | (h & 0x3ff) << 13;
        }
        return Float.floatToRawIntBits(Float.float16ToFloat(h));
    }

    static short f32ToF16Ref(int bits) {
        if ((bits & 0x7fffffff) > 0x7f800000) return (short) ((bits >>> 16 & 0x8000) | 0x7e00 | (bits >>> 13 & 0x3ff));
        return Float.floatToFloat16(Float.intBitsToFloat(bits));
    }

    static int bf16ToF32Ref(short h) {
        return (h & 0xffff) << 16;
    }

    static short f32ToBf16Ref(int bits) {
        if ((bits & 0x7fffffff) > 0x7f800000) return (short) (bits >>> 16 | 0x40);
        int hi = bits >>> 16, dropped = bits & 0xffff;
        if (dropped > 0x8000 || dropped == 0x8000 && (hi & 1) == 1) hi++;  // a carry may reach inf: correct
        return (short) hi;
    }

    @ParameterizedTest(name = "{arguments}")
    @MethodSource("dev.fabric.backend.cpu.KernelCases#variants")
    void f16ToF32AllPatterns(Variant v) {
        short[] in = new short[65536];
        for (int i = 0; i < in.length; i++) in[i] = (short) i;
        for (int off : new int[] {0, 5}) {
            int[] got = widen(CpuKernels.of(v)::f16ToF32, in, off);
            for (int i = 0; i < in.length; i++) {
                if (got[i] != f16ToF32Ref(in[i])) {
                    fail(String.format("%s f16 %04x -> %08x, expected %08x (JDK: %08x)", v, i, got[i], f16ToF32Ref(in[i]),
                            Float.floatToRawIntBits(Float.float16ToFloat(in[i]))));
                }
                if (Float.isNaN(Float.float16ToFloat(in[i])) != Float.isNaN(Float.intBitsToFloat(got[i])))
                    fail(v + " NaN-ness differs from the JDK at " + Integer.toHexString(i));
            }
        }
    }

    @ParameterizedTest(name = "{arguments}")
    @MethodSource("dev.fabric.backend.cpu.KernelCases#variants")
    void bf16ToF32AllPatterns(Variant v) {
        short[] in = new short[65536];
        for (int i = 0; i < in.length; i++) in[i] = (short) i;
        int[] got = widen(CpuKernels.of(v)::bf16ToF32, in, 3);
        for (int i = 0; i < in.length; i++)
            if (got[i] != bf16ToF32Ref(in[i])) fail(String.format("%s bf16 %04x -> %08x", v, i, got[i]));
    }

    @ParameterizedTest(name = "{arguments}")
    @MethodSource("dev.fabric.backend.cpu.KernelCases#variants")
    void f32ToF16EdgeSample(Variant v) {
        int[] in = edgeSample(13);
        short[] got = narrow(CpuKernels.of(v)::f32ToF16, in, 1);
        for (int i = 0; i < in.length; i++) {
            short want = f32ToF16Ref(in[i]);
            if (got[i] != want) fail(String.format("%s f32 %08x (%s) -> f16 %04x, expected %04x", v, in[i],
                    Float.intBitsToFloat(in[i]), got[i] & 0xffff, want & 0xffff));
            boolean nanIn = Float.isNaN(Float.intBitsToFloat(in[i]));
            if (nanIn != Float.isNaN(Float.float16ToFloat(got[i]))) fail(v + " NaN-ness lost for " + Integer.toHexString(in[i]));
        }
    }

    @ParameterizedTest(name = "{arguments}")
    @MethodSource("dev.fabric.backend.cpu.KernelCases#variants")
    void f32ToBf16EdgeSample(Variant v) {
        int[] in = edgeSample(16);
        short[] got = narrow(CpuKernels.of(v)::f32ToBf16, in, 1);
        for (int i = 0; i < in.length; i++) {
            short want = f32ToBf16Ref(in[i]);
            if (got[i] != want) fail(String.format("%s f32 %08x (%s) -> bf16 %04x, expected %04x", v, in[i],
                    Float.intBitsToFloat(in[i]), got[i] & 0xffff, want & 0xffff));
        }
    }

    /** Round trips and sentinels: no element before or after the row is touched, whatever the size and offset. */
    @ParameterizedTest(name = "{arguments}")
    @MethodSource("dev.fabric.backend.cpu.KernelCases#variantsAndSizes")
    void sizesAndOffsetsTouchOnlyTheRow(Variant v, int n) {
        CpuKernels k = CpuKernels.of(v);
        SplittableRandom rnd = new SplittableRandom(n * 31L + v.ordinal());
        for (int off : KernelCases.OFFSETS) {
            short[] halves = new short[n];
            int[] floats = new int[n];
            for (int i = 0; i < n; i++) {
                halves[i] = (short) rnd.nextInt();
                floats[i] = rnd.nextInt();
            }
            int[] a = widen(k::f16ToF32, halves, off);
            int[] b = widen(k::bf16ToF32, halves, off);
            short[] c = narrow(k::f32ToF16, floats, off);
            short[] d = narrow(k::f32ToBf16, floats, off);
            for (int i = 0; i < n; i++) {
                assertEquals(f16ToF32Ref(halves[i]), a[i], "f16->f32 element " + i);
                assertEquals(bf16ToF32Ref(halves[i]), b[i], "bf16->f32 element " + i);
                assertEquals(f32ToF16Ref(floats[i]), c[i], "f32->f16 element " + i);
                assertEquals(f32ToBf16Ref(floats[i]), d[i], "f32->bf16 element " + i);
            }
        }
    }

    // ---- sample of F32 bit patterns ----

    /**
     * Every sign and exponent with every value of the kept fraction bits, each with the dropped low bits
     * (the lowest {@code dropped} bits for a normal result) at the rounding edges: 0, 1, just below half, half
     * (the tie), just above half, all ones. For results that are F16 subnormals the rounding point moves up
     * (14 to 24 dropped bits); those exponents get the same edges at their own rounding point. Plus random
     * patterns.
     */
    static int[] edgeSample(int dropped) {
        IntArray out = new IntArray();
        for (int sign = 0; sign < 2; sign++) {
            for (int exp = 0; exp < 256; exp++) {
                int base = sign << 31 | exp << 23;
                addEdges(out, base, dropped, 23 - dropped);
                if (dropped == 13 && exp >= 102 && exp <= 112) {
                    int low = Math.min(126 - exp, 23);
                    addEdges(out, base, low, 23 - low);
                }
            }
        }
        SplittableRandom rnd = new SplittableRandom(42);
        for (int i = 0; i < 300_000; i++) out.add(rnd.nextInt());
        // Named edges: largest finite f16 and the overflow midpoint, smallest subnormals and their halves.
        for (float f : new float[] {65504f, 65519.996f, 65520f, 65536f, 0x1p-14f, 0x1p-24f, 0x1p-25f, 0x1.8p-25f,
                0x1p-26f, Float.MIN_VALUE, Float.MAX_VALUE, Float.POSITIVE_INFINITY}) {
            out.add(Float.floatToRawIntBits(f));
            out.add(Float.floatToRawIntBits(-f));
        }
        return out.toArray();
    }

    /** Patterns base | high | low, high over all {@code highBits} values above the {@code low} dropped bits. */
    private static void addEdges(IntArray out, int base, int low, int highBits) {
        int half = 1 << (low - 1), all = (int) ((1L << low) - 1);
        int[] lows = {0, 1, half - 1, half, half + 1, all};
        for (int h = 0; h < 1 << highBits; h++)
            for (int l : lows) out.add(base | (h << low & 0x7fffff) | (l & 0x7fffff));
    }

    // ---- native rows: data sits at element offset `off`, guarded by sentinels before and after ----

    interface Widen {
        void run(ShortPointer src, FloatPointer dst, long n);
    }

    interface Narrow {
        void run(FloatPointer src, ShortPointer dst, long n);
    }

    static final int GUARD = 8;
    static final int SENTINEL32 = 0x7fbadbad;
    static final short SENTINEL16 = (short) 0xbadd;

    static int[] widen(Widen kernel, short[] in, int off) {
        int n = in.length, total = off + n + GUARD;
        try (ShortPointer src = new ShortPointer(total); IntPointer dstBits = new IntPointer(total)) {
            src.position(off).put(in).position(0);
            int[] fill = new int[total];
            java.util.Arrays.fill(fill, SENTINEL32);
            dstBits.put(fill);
            FloatPointer dst = new FloatPointer(dstBits);
            kernel.run(src.position(off), dst.position(off), n);
            int[] all = new int[total];
            dstBits.position(0).get(all);
            for (int i = 0; i < total; i++)
                if ((i < off || i >= off + n) && all[i] != SENTINEL32) fail("element " + i + " outside the row was written");
            return java.util.Arrays.copyOfRange(all, off, off + n);
        }
    }

    static short[] narrow(Narrow kernel, int[] in, int off) {
        int n = in.length, total = off + n + GUARD;
        try (IntPointer srcBits = new IntPointer(total); ShortPointer dst = new ShortPointer(total)) {
            srcBits.position(off).put(in).position(0);
            short[] fill = new short[total];
            java.util.Arrays.fill(fill, SENTINEL16);
            dst.put(fill);
            FloatPointer src = new FloatPointer(srcBits);
            kernel.run(src.position(off), dst.position(off), n);
            short[] all = new short[total];
            dst.position(0).get(all);
            for (int i = 0; i < total; i++)
                if ((i < off || i >= off + n) && all[i] != SENTINEL16) fail("element " + i + " outside the row was written");
            return java.util.Arrays.copyOfRange(all, off, off + n);
        }
    }

    static final class IntArray {
        int[] a = new int[1 << 20];
        int n;

        void add(int v) {
            if (n == a.length) a = java.util.Arrays.copyOf(a, n * 2);
            a[n++] = v;
        }

        int[] toArray() {
            return java.util.Arrays.copyOf(a, n);
        }
    }
}
