package dev.fabric.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.fabric.backend.cpu.CpuKernels.Variant;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.ShortBuffer;
import java.util.List;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.ShortPointer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The Java surface: variant discovery, the NIO-buffer forms, bounds checks, native variant rejection. */
class CpuKernelsApiTest {

    @Test
    void variantsAreConsistentWithTheCpu() {
        List<Variant> avail = CpuKernels.available();
        assertEquals(Variant.GENERIC, avail.get(0), "generic always runs");
        assertTrue(avail.contains(CpuKernels.best()));
        assertEquals(CpuKernels.best(), CpuKernels.auto().variant());
        // the CPU's features as this process may use them (FABRIC_CPU_VARIANT caps them, see CpuVariant)
        CpuFeatures f = new CpuFeatures(CpuVariant.isaBits());
        for (Variant v : avail) assertTrue(v.compiled());
        assertEquals(f.has(CpuFeatures.AVX2), Variant.AVX2.available());
        assertEquals(f.has(CpuFeatures.AVX512) && f.has(CpuFeatures.AVX2), Variant.AVX512.available());
        assertEquals(f.has(CpuFeatures.NEON), Variant.NEON.available());
        assertEquals(f.bestVariant(), CpuKernels.best().name().toLowerCase());
    }

    @Test
    void unavailableVariantIsRefusedOnBothSides() {
        Variant missing = null;
        for (Variant v : Variant.values()) if (!v.available()) missing = v;
        assumeTrue(missing != null, "every variant is available on this CPU");
        Variant m = missing;
        assertThrows(IllegalArgumentException.class, () -> CpuKernels.of(m));
        try (FloatPointer x = new FloatPointer(4)) {
            assertEquals(-1, CpuNative.fabric_scale_f32(m.ordinal(), 2f, x, 4));
            assertTrue(Float.isNaN(CpuNative.fabric_dot_f32(m.ordinal(), x, x, 4)));
            assertEquals(-1, CpuNative.fabric_scale_f32(17, 2f, x, 4));
        }
    }

    /** The native AUTO variant (-1) runs the best one; results equal an explicit call of that variant. */
    @Test
    void nativeAutoVariantRunsTheBest() {
        try (FloatPointer x = new FloatPointer(1.5f, -2f, 3f, 1e-3f, 7f); FloatPointer y = new FloatPointer(2f, 2f, 2f, 2f, 2f)) {
            float best = CpuKernels.auto().dot(x, y, 5);
            assertEquals(best, CpuNative.fabric_dot_f32(-1, x, y, 5));
            assertEquals(0, CpuNative.fabric_scale_f32(-1, 2f, x, 5));
            assertEquals(-4f, x.get(1));
        }
    }

    @Test
    void boundsAreChecked() {
        CpuKernels k = CpuKernels.auto();
        try (FloatPointer x = new FloatPointer(10); FloatPointer y = new FloatPointer(10)) {
            assertThrows(IndexOutOfBoundsException.class, () -> k.dot(x, y, 11));
            assertThrows(IndexOutOfBoundsException.class, () -> k.axpy(1f, x.position(2), y, 9));
            x.position(0);
            assertThrows(IllegalArgumentException.class, () -> k.scale(1f, x, -1));
            assertEquals(0f, k.dot(x, y, 0));
        }
        assertThrows(IndexOutOfBoundsException.class, () -> k.f32ToF16(FloatBuffer.allocate(5), ShortBuffer.allocate(4)));
        assertThrows(IllegalArgumentException.class,
                () -> k.f32ToF16(FloatBuffer.allocate(4), ShortBuffer.allocate(4).asReadOnlyBuffer()));
    }

    /** Heap buffers wrapping arrays at an offset, and direct little-endian byte buffers, give the pointer results. */
    @ParameterizedTest(name = "{arguments}")
    @MethodSource("dev.fabric.backend.cpu.KernelCases#variants")
    void buffersMatchPointers(Variant v) {
        CpuKernels k = CpuKernels.of(v);
        int n = 37, off = 3;
        float[] xs = new float[off + n];
        float[] ys = new float[off + n];
        for (int i = 0; i < off + n; i++) {
            xs[i] = (float) Math.sin(i) * 100;
            ys[i] = (float) Math.cos(i);
        }
        try (FloatPointer px = new FloatPointer(n); FloatPointer py = new FloatPointer(n); ShortPointer ph = new ShortPointer(n);
             FloatPointer pw = new FloatPointer(n)) {
            px.put(xs, off, n);
            py.put(ys, off, n);
            k.f32ToF16(px, ph, n);
            k.f16ToF32(ph, pw, n);
            short[] wantH = new short[n];
            float[] wantW = new float[n];
            ph.get(wantH);
            pw.get(wantW);
            float wantDot = k.dot(px, py, n), wantDotH = k.dotF16(ph, py, n);

            // heap, array-backed, positioned at `off`
            short[] h = new short[off + n];
            float[] w = new float[off + n];
            k.f32ToF16(FloatBuffer.wrap(xs, off, n), ShortBuffer.wrap(h, off, n));
            k.f16ToF32(ShortBuffer.wrap(h, off, n), FloatBuffer.wrap(w, off, n));
            assertArrayEquals(wantH, java.util.Arrays.copyOfRange(h, off, off + n));
            assertArrayEquals(wantW, java.util.Arrays.copyOfRange(w, off, off + n));
            assertEquals(wantDot, k.dot(FloatBuffer.wrap(xs, off, n), FloatBuffer.wrap(ys, off, n)));
            assertEquals(0, h[0]);

            // direct little-endian views at a byte offset, as a memory-mapped tensor would be read
            ByteBuffer hb = ByteBuffer.allocateDirect(2 * (n + 1)).order(ByteOrder.LITTLE_ENDIAN);
            ShortBuffer hv = hb.position(2).slice().order(ByteOrder.LITTLE_ENDIAN).asShortBuffer();
            hv.put(wantH).flip();
            FloatBuffer yv = ByteBuffer.allocateDirect(4 * n).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
            yv.put(ys, off, n).flip();
            assertEquals(wantDotH, k.dotF16(hv, yv));
            FloatBuffer out = ByteBuffer.allocateDirect(4 * n).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
            k.f16ToF32(hv, out);
            float[] got = new float[n];
            out.get(got);
            assertArrayEquals(wantW, got);
            assertEquals(0, hv.position(), "buffer positions are not moved");

            // axpy and scale through heap buffers
            float[] acc = ys.clone();
            k.axpy(2f, FloatBuffer.wrap(xs, off, n), FloatBuffer.wrap(acc, off, n));
            k.axpy(2f, px, py, n);
            float[] wantAcc = new float[n];
            py.get(wantAcc);
            assertArrayEquals(wantAcc, java.util.Arrays.copyOfRange(acc, off, off + n));
            k.scale(0.5f, FloatBuffer.wrap(acc, off, n));
            for (int i = 0; i < n; i++) assertEquals(wantAcc[i] * 0.5f, acc[off + i]);
            assertFalse(acc[0] != ys[0], "elements before the buffer's position are untouched");
        }
    }
}
