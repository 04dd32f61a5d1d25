package dev.fabric.lora;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fabric.FabricException;
import dev.fabric.backend.cpu.CpuBackend;
import dev.fabric.gguf.GgufFile;
import dev.fabric.testing.SharedRef;
import dev.fabric.train.Rng;
import dev.fabric.train.SafeTensors;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AdapterFilesTest {
    @TempDir
    Path dir;

    /** Every factor filled with distinct random values (B too, unlike a fresh adapter). */
    static LoraWeights random(LoraConfig c, List<LoraTarget> targets) {
        LoraWeights w = LoraWeights.zeros(c, targets);
        Rng r = new Rng(99);
        for (int i = 0; i < w.size(); i++)
            for (int j = 0; j < w.numel(i); j++) w.value(i).put(j, (float) (r.nextDouble() - 0.5));
        return w;
    }

    static float[] floats(FloatBuffer b) {
        float[] f = new float[b.capacity()];
        b.get(0, f);
        return f;
    }

    static void assertSame(LoraWeights a, LoraWeights b) {
        assertEquals(a.size(), b.size());
        for (int i = 0; i < a.size(); i++) assertArrayEquals(floats(a.value(i)), floats(b.value(i)), a.name(i));
    }

    @Test
    void gguf_roundTripsThroughTheEngineReader() throws Exception {
        for (boolean rs : new boolean[] {false, true}) {
            LoraConfig c = new LoraConfig(4, 8, 0, rs, EnumSet.allOf(LoraRole.class), 1);
            List<LoraTarget> targets = LoraTarget.select(LoraConfigTest.qwen3Like(), c.roles(), "m");
            LoraWeights w = random(c, targets);
            Path f = dir.resolve("adapter" + rs + ".gguf");
            GgufLoraWriter.write(f, w, "qwen3");
            try (GgufFile g = GgufFile.open(f)) {
                assertEquals("qwen3", g.metadata().getString("general.architecture"));
                assertEquals("adapter", g.metadata().getString("general.type"));
                assertEquals("lora", g.metadata().getString("adapter.type"));
                assertEquals(rs ? 16f : 8f, g.metadata().getFloat("adapter.lora.alpha"));   // 8·√4 for rsLoRA
                assertArrayEquals(new long[] {96, 4}, g.tensor("blk.3.ffn_down.weight.lora_a").shape());   // [n_in, r]
                assertArrayEquals(new long[] {4, 64}, g.tensor("blk.3.ffn_down.weight.lora_b").shape());   // [r, n_out]
                assertEquals(2 * targets.size(), g.tensors().size());
            }
            try (CpuBackend cpu = new CpuBackend(1); LoraAdapter a = LoraAdapter.load(f, cpu)) {
                assertEquals(targets.size(), a.pairs().size());
                for (int k = 0; k < targets.size(); k++) {
                    LoraAdapter.Pair p = a.pairs().get(targets.get(k).base());
                    assertEquals(4, p.rank());
                    assertArrayEquals(floats(w.a(k)), cpu.readFloats(p.a()));
                    assertArrayEquals(floats(w.b(k)), cpu.readFloats(p.b()));
                    assertEquals((float) c.scale(), a.scale(p, 1f), 1e-6f);
                }
            }
            assertSame(w, LoraWeights.fromGguf(f, c, targets));
            try (Stream<Path> s = Files.list(dir)) {
                assertTrue(s.allMatch(p -> !p.getFileName().toString().startsWith(".")), "temporaries left");
            }
        }
    }

    @Test
    void gguf_refusesAnotherAlphaOrExtraPairs() throws Exception {
        LoraConfig c = new LoraConfig(4, 8, 0, false, EnumSet.allOf(LoraRole.class), 1);
        List<LoraTarget> targets = LoraTarget.select(LoraConfigTest.qwen3Like(), c.roles(), "m");
        Path f = dir.resolve("a.gguf");
        GgufLoraWriter.write(f, random(c, targets), "qwen3");
        FabricException e = assertThrows(FabricException.class, () -> LoraWeights.fromGguf(f,
                new LoraConfig(4, 16, 0, false, c.roles(), 1), targets));
        assertTrue(e.getMessage().contains("adapter.lora.alpha"), e.getMessage());
        List<LoraTarget> onlyQ = LoraTarget.select(LoraConfigTest.qwen3Like(), Set.of(LoraRole.ATTN_Q), "m");
        e = assertThrows(FabricException.class, () -> LoraWeights.fromGguf(f,
                new LoraConfig(4, 8, 0, false, Set.of(LoraRole.ATTN_Q), 1), onlyQ));
        assertTrue(e.getMessage().contains("also adapts"), e.getMessage());
    }

    /**
     * The adapter QVAC Fabric's trainer made for the parity model (rank 8, alpha 16, all seven projections plus
     * the q/k norm pairs it trained by substring accident): read for the 28 projection targets, norms dropped,
     * values as stored.
     */
    @Test
    void gguf_readsAnotherToolsAdapter() throws Exception {
        Path base = SharedRef.require("engine/qwen3-spm-parity-f16.gguf");
        Path adapter = SharedRef.require("engine/qwen3-spm-parity-lora.gguf");
        List<LoraTarget> targets;
        try (GgufFile g = GgufFile.open(base)) {
            targets = LoraTarget.select(g.tensors(), EnumSet.allOf(LoraRole.class), base.toString());
        }
        assertEquals(4 * 7, targets.size());
        LoraConfig c = new LoraConfig(8, 16, 0, false, EnumSet.allOf(LoraRole.class), 1);
        LoraWeights w = LoraWeights.fromGguf(adapter, c, targets);
        try (GgufFile g = GgufFile.open(adapter)) {
            for (int k = 0; k < targets.size(); k++) {
                FloatBuffer a = g.data(targets.get(k).ggufA()).asByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
                FloatBuffer b = g.data(targets.get(k).ggufB()).asByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
                float[] fa = new float[a.remaining()], fb = new float[b.remaining()];
                a.get(fa);
                b.get(fb);
                assertArrayEquals(fa, floats(w.a(k)));
                assertArrayEquals(fb, floats(w.b(k)));
            }
        }
    }

    @Test
    void peft_writesHfNamesShapesAndConfig_andReadsBack() throws Exception {
        LoraConfig c = new LoraConfig(4, 8, 0.05, true, EnumSet.of(LoraRole.ATTN_V, LoraRole.FFN_UP), 1);
        List<LoraTarget> targets = LoraTarget.select(LoraConfigTest.qwen3Like(), c.roles(), "m");
        LoraWeights w = random(c, targets);
        AdapterBase base = new AdapterBase("qwen3", 4, 2, "Qwen/Qwen3-1.7B");
        Path out = dir.resolve("peft");
        PeftAdapter.write(out, w, base);

        Path st = out.resolve(PeftAdapter.WEIGHTS);
        byte[] bytes = Files.readAllBytes(st);
        long n = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertEquals(0, n % 8);
        JsonNode h = new ObjectMapper().readTree(new String(bytes, 8, (int) n, java.nio.charset.StandardCharsets.UTF_8));
        long expectOff = 0;
        int count = 0;
        for (Iterator<Map.Entry<String, JsonNode>> it = h.fields(); it.hasNext();) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getKey().equals("__metadata__")) continue;
            assertEquals("F32", e.getValue().get("dtype").asText());
            assertEquals(expectOff, e.getValue().get("data_offsets").get(0).asLong(), "contiguous offsets");
            expectOff = e.getValue().get("data_offsets").get(1).asLong();
            count++;
        }
        assertEquals(bytes.length - 8 - n, expectOff);
        assertEquals(2 * targets.size(), count);
        assertEquals("[4,64]", h.get("base_model.model.model.layers.0.self_attn.v_proj.lora_A.weight").get("shape").toString());
        assertEquals("[32,4]", h.get("base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight").get("shape").toString());
        assertEquals("[96,4]", h.get("base_model.model.model.layers.10.mlp.up_proj.lora_B.weight").get("shape").toString());

        Map<String, SafeTensors.Entry> t = SafeTensors.read(st).tensors();
        assertArrayEquals(floats(w.b(1)), floats(t.get(targets.get(1).peftModule() + ".lora_B.weight").data()));

        JsonNode cfg = new ObjectMapper().readTree(out.resolve(PeftAdapter.CONFIG).toFile());
        assertEquals("LORA", cfg.get("peft_type").asText());
        assertEquals("CAUSAL_LM", cfg.get("task_type").asText());
        assertEquals(4, cfg.get("r").asInt());
        assertEquals(8.0, cfg.get("lora_alpha").asDouble());
        assertEquals(0.05, cfg.get("lora_dropout").asDouble());
        assertEquals("[\"v_proj\",\"up_proj\"]", cfg.get("target_modules").toString());
        assertEquals("none", cfg.get("bias").asText());
        assertTrue(cfg.get("use_rslora").asBoolean());
        assertEquals(false, cfg.get("fan_in_fan_out").asBoolean());
        assertEquals("Qwen/Qwen3-1.7B", cfg.get("base_model_name_or_path").asText());

        assertSame(w, PeftAdapter.read(out, c, targets, base));
        FabricException e = assertThrows(FabricException.class,
                () -> PeftAdapter.read(out, new LoraConfig(4, 8, 0.05, false, c.roles(), 1), targets, base));
        assertTrue(e.getMessage().contains("use_rslora"), e.getMessage());
    }

    /**
     * Llama q/k: the PEFT B has Hugging Face's row order. Checked against the permutation written as training.md
     * states it (rows reshaped to [heads, 2, d/2], last two axes swapped, giving the GGUF order), and back.
     */
    @Test
    void peft_llamaPermutesQandKRowsOfB() throws Exception {
        LoraConfig c = new LoraConfig(2, 4, 0, false, EnumSet.of(LoraRole.ATTN_Q, LoraRole.ATTN_K, LoraRole.ATTN_V), 1);
        List<LoraTarget> targets = LoraTarget.select(LoraConfigTest.qwen3Like(), c.roles(), "m");
        LoraWeights w = random(c, targets);
        AdapterBase llama = new AdapterBase("llama", 4, 2, "");
        Path out = dir.resolve("llama");
        PeftAdapter.write(out, w, llama);
        Map<String, SafeTensors.Entry> t = SafeTensors.read(out.resolve(PeftAdapter.WEIGHTS)).tensors();
        for (int k = 0; k < targets.size(); k++) {
            LoraTarget tg = targets.get(k);
            float[] hf = floats(t.get(tg.peftModule() + ".lora_B.weight").data());
            float[] gguf = floats(w.b(k));
            int heads = tg.role() == LoraRole.ATTN_K ? 2 : 4, rows = tg.nOut(), d = rows / heads, r = 2;
            float[] expectGguf = new float[gguf.length];
            if (tg.role() == LoraRole.ATTN_V) {
                expectGguf = hf;   // not permuted
            } else {
                // hf rows viewed as [heads][2][d/2]; the GGUF tensor is [heads][d/2][2]
                for (int h = 0; h < heads; h++)
                    for (int i = 0; i < 2; i++)
                        for (int j = 0; j < d / 2; j++)
                            System.arraycopy(hf, ((h * 2 + i) * (d / 2) + j) * r, expectGguf, ((h * (d / 2) + j) * 2 + i) * r, r);
            }
            assertArrayEquals(expectGguf, gguf, tg.base());
            assertArrayEquals(floats(w.a(k)), floats(t.get(tg.peftModule() + ".lora_A.weight").data()), "A unchanged");
        }
        assertSame(w, PeftAdapter.read(out, c, targets, llama));
        // the same file read as a Qwen adapter keeps the HF row order: q differs
        LoraWeights asQwen = PeftAdapter.read(out, c, targets, new AdapterBase("qwen3", 4, 2, ""));
        assertTrue(!java.util.Arrays.equals(floats(w.b(0)), floats(asQwen.b(0))));
    }

    @Test
    void safetensors_badFilesNameTheProblem() throws Exception {
        Path f = dir.resolve("bad.safetensors");
        Files.write(f, new byte[] {100, 0, 0, 0, 0, 0, 0, 0, '{', '}'});
        FabricException e = assertThrows(FabricException.class, () -> SafeTensors.read(f));
        assertTrue(e.getMessage().contains("header length 100"), e.getMessage());
        byte[] json = "{\"x\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}}".getBytes();
        ByteBuffer b = ByteBuffer.allocate(8 + json.length + 8).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(json.length).put(json);
        Files.write(f, b.array());
        e = assertThrows(FabricException.class, () -> SafeTensors.read(f));
        assertTrue(e.getMessage().contains("tensor 'x': dtype 'I64'"), e.getMessage());
    }
}
