package dev.fabric.lora;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fabric.FabricException;
import dev.fabric.gguf.GgmlType;
import dev.fabric.gguf.GgufTensorInfo;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class LoraConfigTest {
    static GgufTensorInfo t(String name, long... ne) {
        return new GgufTensorInfo(name, ne, GgmlType.F32, 0);
    }

    /** A Qwen3-like tensor table over 11 layers (blk.10 sorts after blk.2 as text, but not as a layer). */
    static List<GgufTensorInfo> qwen3Like() {
        List<GgufTensorInfo> out = new ArrayList<>();
        out.add(t("token_embd.weight", 64, 100));
        for (int l = 10; l >= 0; l--) {
            String b = "blk." + l + ".";
            out.add(t(b + "attn_norm.weight", 64));
            out.add(t(b + "attn_q_norm.weight", 16));
            out.add(t(b + "attn_k_norm.weight", 16));
            out.add(t(b + "ffn_norm.weight", 64));
            out.add(t(b + "attn_q.weight", 64, 64));
            out.add(t(b + "attn_k.weight", 64, 32));
            out.add(t(b + "attn_v.weight", 64, 32));
            out.add(t(b + "attn_output.weight", 64, 64));
            out.add(t(b + "ffn_gate.weight", 64, 96));
            out.add(t(b + "ffn_up.weight", 64, 96));
            out.add(t(b + "ffn_down.weight", 96, 64));
            out.add(t(b + "attn_q.weight.lora_extra", 64, 64));   // contains a role, is not a role's weight
        }
        out.add(t("output_norm.weight", 64));
        out.add(t("output.weight", 64, 100));
        return out;
    }

    @Test
    void rolesParseExactly() {
        assertEquals(EnumSet.allOf(LoraRole.class), LoraRole.parse(List.of("all"), "lora.targets"));
        assertEquals(EnumSet.of(LoraRole.ATTN_Q, LoraRole.FFN_DOWN), LoraRole.parse(List.of("attn_q", "down_proj"), "x"));
        FabricException e = assertThrows(FabricException.class, () -> LoraRole.parse(List.of("attn"), "lora.targets"));
        assertTrue(e.getMessage().startsWith("lora.targets: unknown LoRA target 'attn'"), e.getMessage());
        assertThrows(FabricException.class, () -> LoraRole.parse(List.of("attn_q_norm"), "x"));
    }

    @Test
    void selectionIsByExactRoleNeverByName() {
        List<LoraTarget> all = LoraTarget.select(qwen3Like(), EnumSet.allOf(LoraRole.class), "m.gguf");
        assertEquals(11 * 7, all.size());
        assertTrue(all.stream().noneMatch(x -> x.base().contains("norm") || x.base().contains("lora")));
        assertEquals("blk.0.attn_q.weight", all.get(0).base());
        assertEquals("blk.2.attn_q.weight", all.get(14).base());   // numeric layer order
        assertEquals("blk.10.ffn_down.weight", all.get(76).base());
        LoraTarget down = all.get(6);
        assertEquals(LoraRole.FFN_DOWN, down.role());
        assertEquals(96, down.nIn());
        assertEquals(64, down.nOut());
        assertEquals("base_model.model.model.layers.0.mlp.down_proj", down.peftModule());

        List<LoraTarget> q = LoraTarget.select(qwen3Like(), Set.of(LoraRole.ATTN_Q), "m.gguf");
        assertEquals(11, q.size());
        assertTrue(q.stream().allMatch(x -> x.base().endsWith(".attn_q.weight")));
        assertThrows(FabricException.class,
                () -> LoraTarget.select(List.of(t("blk.0.attn_q_norm.weight", 16)), Set.of(LoraRole.ATTN_Q), "m"));
    }

    @Test
    void scales() {
        LoraConfig plain = new LoraConfig(16, 32, 0.05, false, Set.of(LoraRole.ATTN_Q), 1);
        assertEquals(2.0, plain.scale());
        assertEquals(32f, plain.ggufAlpha());
        LoraConfig rs = new LoraConfig(16, 32, 0.05, true, Set.of(LoraRole.ATTN_Q), 1);
        assertEquals(8.0, rs.scale());                        // alpha / √r
        assertEquals(128f, rs.ggufAlpha());                   // alpha·√r, so llama.cpp's alpha / r is the same 8
        assertEquals(rs.scale(), rs.ggufAlpha() / 16.0, 0);
        assertThrows(IllegalArgumentException.class, () -> new LoraConfig(0, 1, 0, false, Set.of(LoraRole.ATTN_Q), 1));
        assertThrows(IllegalArgumentException.class, () -> new LoraConfig(4, 1, 1.0, false, Set.of(LoraRole.ATTN_Q), 1));
    }

    /** SplitMix64 and the (seed, name) derivation as their documentation states them, written out independently. */
    private static long splitmix(long[] state) {
        state[0] += 0x9E3779B97F4A7C15L;
        long z = state[0];
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    private static float[] expectedA(long seed, String name, int n, int nIn) {
        long h = 0xcbf29ce484222325L;
        for (byte b : name.getBytes(StandardCharsets.UTF_8)) h = (h ^ (b & 0xff)) * 0x100000001b3L;
        long[] st = {seed + 0x9E3779B97F4A7C15L * (1 + h) - 0x9E3779B97F4A7C15L};
        long start = splitmix(st);   // mix() of the combined value
        long[] s = {start};
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            double u = (splitmix(s) >>> 11) * 0x1.0p-53;
            out[i] = (float) ((2 * u - 1) / Math.sqrt(nIn));
        }
        return out;
    }

    @Test
    void initialisationIsPeftsAndIndependentOfOrder() {
        LoraConfig c = new LoraConfig(8, 16, 0, false, EnumSet.allOf(LoraRole.class), 1234);
        List<LoraTarget> targets = LoraTarget.select(qwen3Like(), c.roles(), "m");
        LoraWeights w = LoraWeights.initialise(c, targets);
        List<LoraTarget> reversed = new ArrayList<>(targets);
        java.util.Collections.reverse(reversed);
        LoraWeights r = LoraWeights.initialise(c, reversed);
        for (int k = 0; k < targets.size(); k++) {
            LoraTarget t = targets.get(k);
            float[] a = new float[w.a(k).capacity()], ar = new float[a.length];
            w.a(k).get(0, a);
            r.a(targets.size() - 1 - k).get(0, ar);
            assertArrayEquals(a, ar, t.base());
            assertArrayEquals(expectedA(1234, t.ggufA(), a.length, t.nIn()), a, t.base());
            for (int j = 0; j < w.b(k).capacity(); j++) assertEquals(0f, w.b(k).get(j));
        }
        // U(−1/√n, 1/√n): all inside; mean 0 and variance 1/(3n) within 4 standard errors over all A of nIn 64
        double bound = 1 / Math.sqrt(64), sum = 0, sq = 0;
        int n = 0;
        for (int k = 0; k < targets.size(); k++) {
            if (targets.get(k).nIn() != 64) continue;
            for (int j = 0; j < w.a(k).capacity(); j++) {
                double x = w.a(k).get(j);
                assertTrue(Math.abs(x) <= bound);
                sum += x;
                sq += x * x;
                n++;
            }
        }
        double var = bound * bound / 3;
        assertEquals(0, sum / n, 4 * Math.sqrt(var / n));
        assertEquals(var, sq / n, 4 * var * Math.sqrt(0.8 / n));   // Var(x²) = (4/5)·var² for a uniform
        LoraWeights other = LoraWeights.initialise(new LoraConfig(8, 16, 0, false, c.roles(), 1235), targets);
        assertNotEquals(w.a(0).get(0), other.a(0).get(0));
    }
}
