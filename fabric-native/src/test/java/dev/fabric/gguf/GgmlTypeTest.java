package dev.fabric.gguf;

import static org.junit.jupiter.api.Assertions.*;

import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

class GgmlTypeTest {
    private static final int QK_K = 256, HALF = 2;

    /**
     * id -> {name, elements per block, bytes per block}. Ids and the sizes of the stored quant types are those of
     * /work/shared/specs/quantization.md section 1 and the table of section 2; the others are summed here from the
     * fields of ggml-common.h's block structs (named in the comments), not taken from the enum under test.
     */
    private static final Map<Integer, Object[]> TABLE = new TreeMap<>(Map.ofEntries(
            Map.entry(0, new Object[] {"F32", 1, 4}),
            Map.entry(1, new Object[] {"F16", 1, 2}),
            Map.entry(2, new Object[] {"Q4_0", 32, 18}),
            Map.entry(3, new Object[] {"Q4_1", 32, 20}),
            Map.entry(6, new Object[] {"Q5_0", 32, 22}),
            Map.entry(7, new Object[] {"Q5_1", 32, 24}),
            Map.entry(8, new Object[] {"Q8_0", 32, 34}),
            Map.entry(9, new Object[] {"Q8_1", 32, 2 * HALF + 32}), // d, s, qs[32]
            Map.entry(10, new Object[] {"Q2_K", 256, 84}),
            Map.entry(11, new Object[] {"Q3_K", 256, 110}),
            Map.entry(12, new Object[] {"Q4_K", 256, 144}),
            Map.entry(13, new Object[] {"Q5_K", 256, 176}),
            Map.entry(14, new Object[] {"Q6_K", 256, 210}),
            Map.entry(15, new Object[] {"Q8_K", 256, 292}),
            Map.entry(16, new Object[] {"IQ2_XXS", QK_K, HALF + QK_K / 8 * 2}), // d, u16 qs[QK_K/8]
            Map.entry(17, new Object[] {"IQ2_XS", QK_K, HALF + QK_K / 8 * 2 + QK_K / 32}), // d, u16 qs, scales
            Map.entry(18, new Object[] {"IQ3_XXS", QK_K, HALF + 3 * QK_K / 8}), // d, qs[3*QK_K/8]
            Map.entry(19, new Object[] {"IQ1_S", QK_K, HALF + QK_K / 8 + QK_K / 32 * 2}), // d, qs, u16 qh
            Map.entry(20, new Object[] {"IQ4_NL", 32, 18}),
            Map.entry(21, new Object[] {"IQ3_S", QK_K, HALF + QK_K / 4 + QK_K / 32 + QK_K / 8 + QK_K / 64}),
            Map.entry(22, new Object[] {"IQ2_S", QK_K, HALF + QK_K / 4 + QK_K / 32 + QK_K / 32}), // d, qs, qh, scales
            Map.entry(23, new Object[] {"IQ4_XS", 256, 136}),
            Map.entry(24, new Object[] {"I8", 1, 1}),
            Map.entry(25, new Object[] {"I16", 1, 2}),
            Map.entry(26, new Object[] {"I32", 1, 4}),
            Map.entry(27, new Object[] {"I64", 1, 8}),
            Map.entry(28, new Object[] {"F64", 1, 8}),
            Map.entry(29, new Object[] {"IQ1_M", QK_K, QK_K / 8 + QK_K / 16 + QK_K / 32}), // qs, qh, scales
            Map.entry(30, new Object[] {"BF16", 1, 2}),
            Map.entry(34, new Object[] {"TQ1_0", QK_K, (QK_K - 4 * QK_K / 64) / 5 + QK_K / 64 + HALF}), // qs, qh, d
            Map.entry(35, new Object[] {"TQ2_0", QK_K, QK_K / 4 + HALF}), // qs, d
            Map.entry(39, new Object[] {"MXFP4", 32, 1 + 16}), // e8m0 exponent, qs[16]
            Map.entry(40, new Object[] {"NVFP4", 64, 64 / 16 + 64 / 2}), // 4 ue4m3 scales, qs[32]
            Map.entry(41, new Object[] {"Q1_0", 128, HALF + 128 / 8}),
            Map.entry(42, new Object[] {"Q2_0", 64, HALF + 64 / 4})));

    @Test
    void everyTypeMatchesTheTable() {
        Set<GgmlType> seen = new HashSet<>();
        for (Map.Entry<Integer, Object[]> e : TABLE.entrySet()) {
            GgmlType t = GgmlType.byId(e.getKey());
            assertEquals(e.getValue()[0], t.name(), "id " + e.getKey());
            assertEquals(e.getKey(), t.id());
            assertEquals(e.getValue()[1], t.blockSize(), t + " block size");
            assertEquals(e.getValue()[2], t.typeSize(), t + " type size");
            assertEquals(t.blockSize() > 1, t.isQuantized(), t + " isQuantized");
            seen.add(t);
        }
        assertEquals(GgmlType.values().length, seen.size(), "every enum constant is in the table");
    }

    @Test
    void byIdRejectsEveryOtherId() {
        for (int id = -5; id < 300; id++) {
            if (TABLE.containsKey(id)) continue;
            int i = id;
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> GgmlType.byId(i));
            assertTrue(e.getMessage().contains("unknown ggml type id " + Integer.toUnsignedString(i)), e.getMessage());
        }
        assertTrue(assertThrows(IllegalArgumentException.class, () -> GgmlType.byId(33)).getMessage()
                .contains("Q4_0_8_8"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> GgmlType.byId(Integer.MIN_VALUE)).getMessage()
                .contains("2147483648"));
    }

    @Test
    void rowBytesIsExactAndChecked() {
        assertEquals(4 * 18, GgmlType.Q4_0.rowBytes(128));
        assertEquals(11 * 210, GgmlType.Q6_K.rowBytes(11 * 256));
        assertEquals(0, GgmlType.Q4_K.rowBytes(0));
        assertEquals(6, GgmlType.F16.rowBytes(3));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> GgmlType.Q4_K.rowBytes(172));
        assertTrue(e.getMessage().contains("172") && e.getMessage().contains("256"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> GgmlType.F32.rowBytes(-1));
        assertThrows(ArithmeticException.class, () -> GgmlType.F32.rowBytes(1L << 62));
        assertEquals(292L * 1_000_000_000_000L, GgmlType.Q8_K.rowBytes(256L * 1_000_000_000_000L), "no int overflow");
        assertEquals(2L * 3 * 5 * 34, GgmlType.Q8_0.byteSize(new long[] {64, 3, 5}));
        assertThrows(ArithmeticException.class, () -> GgmlType.F32.byteSize(new long[] {1L << 40, 1L << 30}));
    }
}
