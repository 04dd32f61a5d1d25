package dev.fabric.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** The native fp16/bf16 conversions against the JDK's (exact decoding; RNE encoding as ggml's, spec 3.1). */
class HalfConversionTest {
    @Test
    void everyHalfDecodesLikeTheJdk() {
        short[] all = new short[65536];
        for (int i = 0; i < all.length; i++) all[i] = (short) i;
        float[] got = Quantizer.f16ToF32(all);
        for (int i = 0; i < all.length; i++) {
            float e = Float.float16ToFloat(all[i]);
            if (Float.isNaN(e)) assertTrue(Float.isNaN(got[i]), "half 0x" + Integer.toHexString(i));
            else assertEquals(Float.floatToRawIntBits(e), Float.floatToRawIntBits(got[i]), "half 0x" + Integer.toHexString(i));
        }
    }

    @Test
    void everyBf16DecodesExactly() {
        short[] all = new short[65536];
        for (int i = 0; i < all.length; i++) all[i] = (short) i;
        float[] got = Quantizer.bf16ToF32(all);
        for (int i = 0; i < all.length; i++) assertEquals(i << 16, Float.floatToRawIntBits(got[i]));
    }

    @Test
    void encodingRoundsLikeTheJdk() {
        Random rnd = new Random(5);
        float[] x = new float[200_000];
        for (int i = 0; i < x.length; i++) {
            // Random bit patterns concentrated around the half range, plus exact ties and boundaries below.
            int exp = 100 + rnd.nextInt(45);
            x[i] = Float.intBitsToFloat((rnd.nextInt() & 0x807FFFFF) | exp << 23);
        }
        float[] edges = {65504f, 65519.996f, 65520f, 1e9f, Float.POSITIVE_INFINITY, 0x1p-24f, 0x1p-25f,
            0x1.000002p-25f, 0x1.8p-24f, 0x1.4p-23f, 0x1p-14f, 0x1.ffcp-15f, 0x1.001p0f, 0x1.003p0f, -0f, 0f,
            Float.MIN_VALUE, -Float.MIN_NORMAL};
        System.arraycopy(edges, 0, x, 0, edges.length);
        short[] got = Quantizer.f32ToF16(x);
        for (int i = 0; i < x.length; i++) {
            assertEquals(Float.floatToFloat16(x[i]), got[i], "float " + x[i] + " (0x" + Integer.toHexString(Float.floatToRawIntBits(x[i])) + ")");
        }
        short[] nan = Quantizer.f32ToF16(new float[] {Float.NaN, Float.intBitsToFloat(0xFFC00001)});
        assertEquals((short) 0x7E00, nan[0], "NaN becomes 0x7E00");
        assertEquals((short) 0xFE00, nan[1], "negative NaN keeps its sign");
    }
}
