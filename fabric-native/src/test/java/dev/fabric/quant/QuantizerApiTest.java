package dev.fabric.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fabric.backend.cpu.CpuFeatures;
import dev.fabric.backend.cpu.QuantNative;
import dev.fabric.gguf.GgmlType;
import java.util.Random;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/** The Java surface: geometry agrees with the GGUF type table and the native side, entry points agree, misuse fails. */
class QuantizerApiTest {
    @ParameterizedTest
    @MethodSource("dev.fabric.gguf.GgmlType#quantizableTypes")
    void geometryMatchesGgmlTableAndNative(GgmlType t) {
        assertTrue(t.quantizable() && t.engine() && t.isQuantized(), t.toString());
        assertEquals(t.blockSize(), QuantNative.fabric_quant_block_elems(t.id()));
        assertEquals(t.typeSize(), QuantNative.fabric_quant_block_bytes(t.id()));
        assertEquals(t.rowBytes(4096), Quantizer.rowBytes(t, 4096));
        assertEquals(dev.fabric.backend.DType.valueOf(t.name()), dev.fabric.backend.DType.of(t));
    }

    @Test
    void typesWithoutAQuantizerAreRefused() {
        for (GgmlType t : GgmlType.values()) {
            if (t.quantizable()) continue;
            assertThrows(IllegalArgumentException.class, () -> Quantizer.rowBytes(t, 4096), t.toString());
        }
        assertEquals(12, GgmlType.quantizableTypes().size());
    }

    @ParameterizedTest
    @MethodSource("dev.fabric.gguf.GgmlType#quantizableTypes")
    void pointerAndAddressEntryPointsGiveTheArrayBytes(GgmlType t) {
        int nrows = 3, ncols = 512;
        Random rnd = new Random(9);
        float[] x = new float[nrows * ncols];
        for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
        float[] w = new float[ncols];
        for (int j = 0; j < ncols; j++) w[j] = 1 + j % 3;
        byte[] expected = Quantizer.quantize(t, x, nrows, ncols, w, 1);
        long bytes = nrows * t.rowBytes(ncols);
        try (FloatPointer src = new FloatPointer(x); BytePointer a = new BytePointer(bytes); BytePointer b = new BytePointer(bytes);
             FloatPointer y = new FloatPointer((long) x.length)) {
            Quantizer.quantize(t, src, nrows, ncols, w, a, 2);
            Quantizer.quantizeAt(t, src.address(), nrows, ncols, w, b.address(), 3);
            byte[] ga = new byte[(int) bytes], gb = new byte[(int) bytes];
            a.get(ga);
            b.get(gb);
            assertArrayEquals(expected, ga);
            assertArrayEquals(expected, gb);
            Quantizer.dequantizeAt(t, a.address(), nrows, ncols, y.address(), 2);
            float[] gy = new float[x.length];
            y.get(gy);
            assertArrayEquals(Quantizer.dequantize(t, expected, nrows, ncols, 1), gy);
        }
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q4_0", "Q5_1", "Q3_K", "Q6_K", "IQ4_XS"})
    void halfSourcesQuantizeLikeTheirDecodedFloats(GgmlType t) {
        int nrows = 5, ncols = 256;
        Random rnd = new Random(21);
        short[] halves = new short[nrows * ncols];
        for (int i = 0; i < halves.length; i++) halves[i] = Float.floatToFloat16((float) rnd.nextGaussian());
        long bytes = nrows * t.rowBytes(ncols);
        for (GgmlType src : new GgmlType[] {GgmlType.F16, GgmlType.BF16}) {
            float[] decoded = src == GgmlType.F16 ? Quantizer.f16ToF32(halves) : Quantizer.bf16ToF32(halves);
            byte[] expected = Quantizer.quantize(t, decoded, nrows, ncols, null, 1);
            try (org.bytedeco.javacpp.ShortPointer h = new org.bytedeco.javacpp.ShortPointer(halves);
                 BytePointer out = new BytePointer(bytes)) {
                Quantizer.quantizeAt(t, src, h.address(), nrows, ncols, null, out.address(), 3);
                byte[] got = new byte[(int) bytes];
                out.get(got);
                assertArrayEquals(expected, got, t + " from " + src);
            }
        }
        assertThrows(IllegalArgumentException.class,
                () -> Quantizer.quantizeAt(t, GgmlType.Q8_0, 0L, 1, 256, null, 0L, 1));
    }

    @Test
    void misuseIsRejected() {
        assertThrows(IllegalArgumentException.class, () -> Quantizer.rowBytes(GgmlType.Q4_K, 96));
        assertThrows(IllegalArgumentException.class, () -> Quantizer.quantize(GgmlType.Q4_0, new float[64], 2, 32, new float[31], 1));
        assertThrows(IllegalArgumentException.class, () -> Quantizer.quantize(GgmlType.Q4_0, new float[60], 2, 32, null, 1));
        assertThrows(IllegalArgumentException.class, () -> Quantizer.dequantize(GgmlType.Q8_0, new byte[33], 1, 32, 1));
        assertEquals(QuantNative.ERR_TYPE, QuantNative.fabric_quantize(15, 0L, 1, 256, 0L, 0L, 1));
        assertEquals(QuantNative.ERR_SHAPE, QuantNative.fabric_quantize(GgmlType.Q6_K.id(), 0L, 1, 100, 0L, 0L, 1));
    }

    @Test
    void defaultDequantizeBuildIsTheBestThisCpuRuns() {
        // This CPU's best within the variant ceiling (FABRIC_CPU_VARIANT may cap it, as CI's avx2 run does).
        String best = new CpuFeatures(dev.fabric.backend.cpu.CpuVariant.isaBits()).bestVariant();
        String expected = best.equals("avx512") || best.equals("avx2") ? best : "scalar";
        assertEquals(expected, Quantizer.useInstructionSets(-1));
    }
}
