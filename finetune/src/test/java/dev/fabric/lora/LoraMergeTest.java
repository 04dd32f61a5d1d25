package dev.fabric.lora;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fabric.FabricException;
import dev.fabric.backend.DType;
import dev.fabric.backend.cpu.CpuBackend;
import dev.fabric.basemodel.BaseModelFile;
import dev.fabric.basemodel.BaseModelTrainer;
import dev.fabric.basemodel.Corpus;
import dev.fabric.gguf.GgmlType;
import dev.fabric.gguf.GgufFile;
import dev.fabric.model.Arch;
import dev.fabric.model.Model;
import dev.fabric.model.ModelConfig;
import dev.fabric.model.Transformer;
import dev.fabric.tokenizer.BpeTrainer;
import dev.fabric.tokenizer.Vocabulary;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LoraMergeTest {
    @TempDir static Path dir;
    static Path base, adapter;

    @BeforeAll
    static void files() throws Exception {
        Vocabulary v = BpeTrainer.train(Corpus.pretraining(1, 200), "qwen2", 300, BaseModelTrainer.SPECIALS,
                "<|endoftext|>").vocabulary();
        ModelConfig c = new ModelConfig(Arch.QWEN3, 32, 2, 4, 2, 8, 48, 1e-6f, 10000f, 8, v.size(), true, 64);
        base = dir.resolve("base.gguf");
        BaseModelFile.write(base, c, v, "merge test", BaseModelFile.initialWeights(c, 4));
        List<LoraTarget> targets;
        try (GgufFile g = GgufFile.open(base)) {
            targets = LoraTarget.select(g.tensors(), EnumSet.allOf(LoraRole.class), base.toString());
        }
        LoraWeights w = LoraWeights.initialise(new LoraConfig(4, 8, 0, false, EnumSet.allOf(LoraRole.class), 3), targets);
        SplittableRandom r = new SplittableRandom(9);
        for (int k = 0; k < targets.size(); k++) {
            FloatBuffer b = w.b(k);
            for (int i = 0; i < b.capacity(); i++) b.put(i, (float) (r.nextDouble() - 0.5) * 0.2f);
        }
        adapter = dir.resolve("adapter.gguf");
        GgufLoraWriter.write(adapter, w, "qwen3");
    }

    private static float[] logits(Path model, Path lora, int[] tokens) throws Exception {
        try (CpuBackend be = new CpuBackend(1); Model m = Model.open(model, be)) {
            LoraAdapter a = lora == null ? null : LoraAdapter.load(lora, be);
            try (Transformer t = new Transformer(m.config(), m.weights(), be, 32, DType.F32,
                    a == null ? List.of() : List.of(new Transformer.AppliedLora(a, 0.7f)))) {
                return t.forward(tokens, 0, false);
            } finally {
                if (a != null) a.close();
            }
        }
    }

    /** The merged model computes what base + adapter computes (F32: to rounding; the adapter's effect is large). */
    @Test
    void mergedF32_equalsBasePlusAdapter() throws Exception {
        Path merged = dir.resolve("merged-f32.gguf");
        try (CpuBackend be = new CpuBackend(1)) {
            assertEquals(14, LoraMerge.merge(base, adapter, 0.7f, GgmlType.F32, merged, be).merged());
        }
        int[] tokens = {5, 17, 42, 99, 3, 250, 7};
        float[] want = logits(base, adapter, tokens), got = logits(merged, null, tokens), plain = logits(base, null, tokens);
        double err = 0, effect = 0;
        for (int i = 0; i < want.length; i++) {
            err = Math.max(err, Math.abs(want[i] - got[i]));
            effect = Math.max(effect, Math.abs(want[i] - plain[i]));
        }
        assertTrue(effect > 1e-2, "the adapter must change the logits, by " + effect);
        // F32 sums in another order (W x + s B (A x) against (W + s B A) x): a few ulps of logits of size ~1.
        assertTrue(err < 1e-4, "max |merged - base+adapter| " + err + " (adapter effect " + effect + ")");
        try (GgufFile g = GgufFile.open(merged)) {
            assertEquals(GgmlType.F32, g.tensor("blk.0.attn_q.weight").type());
        }
    }

    @Test
    void mergedF16_isWrittenInF16_andCloseToBasePlusAdapter() throws Exception {
        Path merged = dir.resolve("merged-f16.gguf");
        try (CpuBackend be = new CpuBackend(1)) {
            LoraMerge.merge(base, adapter, 0.7f, GgmlType.F16, merged, be);
        }
        try (GgufFile g = GgufFile.open(merged)) {
            assertEquals(GgmlType.F16, g.tensor("blk.1.ffn_down.weight").type());
            assertEquals(GgmlType.F32, g.tensor("blk.1.ffn_norm.weight").type());
        }
        int[] tokens = {5, 17, 42, 99};
        float[] want = logits(base, adapter, tokens), got = logits(merged, null, tokens);
        double err = 0;
        for (int i = 0; i < want.length; i++) err = Math.max(err, Math.abs(want[i] - got[i]));
        // F16 weights: relative rounding 2^-11 per weight, and activations rounded to F16 in the F16 matmul.
        assertTrue(err < 5e-3, "max |merged - base+adapter| " + err);
    }

    @Test
    void refusals_nameTheCulprit_andLeaveNothing() throws Exception {
        try (CpuBackend be = new CpuBackend(1)) {
            var e = assertThrows(FabricException.class, () -> LoraMerge.merge(base, adapter, 1f, GgmlType.F32, base, be));
            assertTrue(e.getMessage().contains("base.gguf"), e.getMessage());
            Path out = dir.resolve("never.gguf");
            var q = assertThrows(FabricException.class, () -> LoraMerge.merge(base, adapter, 1f, GgmlType.Q8_0, out, be));
            assertTrue(q.getMessage().contains("--type"), q.getMessage());
            assertTrue(!Files.exists(out));
        }
    }
}
