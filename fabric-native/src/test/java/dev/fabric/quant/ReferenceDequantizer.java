package dev.fabric.quant;

import dev.fabric.gguf.GgmlType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Plain-Java dequantization of every block format, written from the layouts in spec section 2 (one element at a
 * time: locate its bits, then value = scale x level). The oracle for the native dequantizers. Products follow the
 * spec's formulas left to right (d*sc*q = (d*sc)*q), the order the engine must share with llama.cpp.
 */
final class ReferenceDequantizer {
    static final int[] IQ4NL = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

    private ReferenceDequantizer() {}

    static float[] dequantize(GgmlType t, byte[] data) {
        ByteBuffer b = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
        int nb = data.length / t.typeSize();
        float[] y = new float[nb * t.blockSize()];
        for (int blk = 0; blk < nb; blk++) {
            int o = blk * t.typeSize();
            for (int e = 0; e < t.blockSize(); e++) y[blk * t.blockSize() + e] = element(t, b, o, e);
        }
        return y;
    }

    private static float half(ByteBuffer b, int at) {
        return Float.float16ToFloat(b.getShort(at));
    }

    private static int u8(ByteBuffer b, int at) {
        return b.get(at) & 0xFF;
    }

    /** Legacy nibble order: byte j holds element j (low) and j+16 (high). */
    private static int nibble32(ByteBuffer b, int qs, int e) {
        int v = u8(b, qs + (e % 16));
        return e < 16 ? v & 15 : v >> 4;
    }

    /** Q2_K/Q3_K 2-bit planes: byte 32*(e/128) + e%32 at bit 2*((e%128)/32). */
    private static int twoBit(ByteBuffer b, int qs, int e) {
        return (u8(b, qs + 32 * (e / 128) + e % 32) >> (2 * ((e % 128) / 32))) & 3;
    }

    /** Q4_K/Q5_K 6-bit scale and min of sub-block j (12-byte packing). */
    private static int[] scaleMin(ByteBuffer b, int s, int j) {
        if (j < 4) return new int[] {u8(b, s + j) & 63, u8(b, s + j + 4) & 63};
        int sc = (u8(b, s + j + 4) & 15) | ((u8(b, s + j - 4) >> 6) << 4);
        int m = (u8(b, s + j + 4) >> 4) | ((u8(b, s + j) >> 6) << 4);
        return new int[] {sc, m};
    }

    /** Q4_K qs: chunk c = e/64, byte 32c + e%32, low nibble for the first 32 of the chunk. */
    private static int kNibble(ByteBuffer b, int qs, int e) {
        int v = u8(b, qs + 32 * (e / 64) + e % 32);
        return (e % 64) < 32 ? v & 15 : v >> 4;
    }

    private static float element(GgmlType t, ByteBuffer b, int o, int e) {
        switch (t) {
            case Q4_0: return half(b, o) * (nibble32(b, o + 2, e) - 8);
            case Q4_1: return half(b, o) * nibble32(b, o + 4, e) + half(b, o + 2);
            case Q5_0: {
                int hi = (b.getInt(o + 2) >>> e) & 1;
                return half(b, o) * ((nibble32(b, o + 6, e) | hi << 4) - 16);
            }
            case Q5_1: {
                int hi = (b.getInt(o + 4) >>> e) & 1;
                return half(b, o) * (nibble32(b, o + 8, e) | hi << 4) + half(b, o + 2);
            }
            case Q8_0: return half(b, o) * b.get(o + 2 + e);
            case IQ4_NL: return half(b, o) * IQ4NL[nibble32(b, o + 2, e)];
            case IQ4_XS: {
                int ib = e / 32;
                int lo = (u8(b, o + 4 + ib / 2) >> (4 * (ib % 2))) & 15;
                int hi = ((b.getShort(o + 2) & 0xFFFF) >> (2 * ib)) & 3;
                float dl = half(b, o) * ((lo | hi << 4) - 32);
                return dl * IQ4NL[nibble32(b, o + 8 + 16 * ib, e % 32)];
            }
            case Q2_K: {
                int sm = u8(b, o + e / 16);
                float d = half(b, o + 80), dmin = half(b, o + 82);
                return d * (sm & 15) * twoBit(b, o + 16, e) - dmin * (sm >> 4);
            }
            case Q3_K: {
                int j = e / 16;
                int lo = j < 8 ? u8(b, o + 96 + j) & 15 : u8(b, o + 96 + j - 8) >> 4;
                int hi = (u8(b, o + 96 + 8 + j % 4) >> (2 * (j / 4))) & 3;
                int sc = (lo | hi << 4) - 32;
                boolean high = ((u8(b, o + e % 32) >> (e / 32)) & 1) != 0;
                int level = twoBit(b, o + 32, e) + (high ? 4 : 0) - 4;
                return half(b, o + 108) * sc * level;
            }
            case Q4_K: {
                int[] sm = scaleMin(b, o + 4, e / 32);
                return half(b, o) * sm[0] * kNibble(b, o + 16, e) - half(b, o + 2) * sm[1];
            }
            case Q5_K: {
                int[] sm = scaleMin(b, o + 4, e / 32);
                int bit = (u8(b, o + 16 + e % 32) >> (2 * (e / 64) + ((e % 64) < 32 ? 0 : 1))) & 1;
                int q = kNibble(b, o + 48, e) | bit << 4;
                return half(b, o) * sm[0] * q - half(b, o + 2) * sm[1];
            }
            case Q6_K: {
                int h = e / 128, r = e % 128, quarter = r / 32, l = r % 32;
                // ql: quarters 0/2 in bytes 64h+l (low/high nibble), quarters 1/3 in bytes 64h+32+l.
                int qlByte = u8(b, o + 64 * h + (quarter % 2 == 1 ? 32 : 0) + l);
                int low = quarter < 2 ? qlByte & 15 : qlByte >> 4;
                int high = (u8(b, o + 128 + 32 * h + l) >> (2 * quarter)) & 3;
                int sc = b.get(o + 192 + e / 16);
                return half(b, o + 208) * sc * ((low | high << 4) - 32);
            }
            default: throw new IllegalArgumentException(t.toString());
        }
    }
}
