package dev.fabric.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.fabric.FabricException;
import dev.fabric.backend.DType;
import dev.fabric.backend.cpu.CpuBackend;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Each architecture's forward pass on a small random model written to GGUF, against a plain-Java forward pass
 * built from the naive op references (F32 weights and an F32 KV cache, so both sides are exact up to summation
 * order). Covers what the llama.cpp vectors do not: qwen2's biases, a head size that is not n_embd / n_head,
 * decoding in several calls through the KV cache.
 */
class SyntheticModelTest {
    @TempDir
    Path dir;

    @ParameterizedTest
    @EnumSource(Arch.class)
    void forward_matchesNaiveForward_inOneCallAndThroughTheCache(Arch a) throws Exception {
        Map<String, long[]> shapes = new LinkedHashMap<>();
        Map<String, float[]> w = SyntheticModels.weights(a, shapes, a.ordinal() + 11);
        Path file = SyntheticModels.write(dir.resolve(a + ".gguf"), a.ggufName(), a, w, shapes);
        int[] tokens = {3, 17, 0, 49, 25, 25, 8};
        float[] want = SyntheticModels.naiveForward(a, w, tokens);
        try (Model m = Model.open(file, new CpuBackend(2));
                Transformer t = new Transformer(m.config(), m.weights(), m.backend(), 16, DType.F32, List.of())) {
            assertEquals(SyntheticModels.headDim(a), m.config().headDim());
            assertEquals(a == Arch.QWEN3, m.config().tiedOutput());
            // logits are O(1): an absolute bound of 1e-4 allows F32 summation-order differences only
            assertClose(want, t.forward(tokens, 0, false), 0, 1e-4);
            float[] part1 = t.forward(java.util.Arrays.copyOf(tokens, 4), 0, false);
            float[] part2 = t.forward(java.util.Arrays.copyOfRange(tokens, 4, 7), 4, false);
            assertClose(java.util.Arrays.copyOf(want, 4 * SyntheticModels.VOCAB), part1, 0, 1e-4);
            assertClose(java.util.Arrays.copyOfRange(want, 4 * SyntheticModels.VOCAB, 7 * SyntheticModels.VOCAB), part2, 0, 1e-4);
            float[] last = t.forward(new int[] {tokens[6]}, 6, true);
            assertClose(java.util.Arrays.copyOfRange(want, 6 * SyntheticModels.VOCAB, 7 * SyntheticModels.VOCAB), last, 0, 1e-4);
        }
    }

    private static void assertClose(float[] want, float[] got, int offset, double tol) {
        assertEquals(want.length, got.length);
        for (int i = 0; i < want.length; i++)
            if (!(Math.abs(want[i] - got[i]) <= tol)) fail("logit " + i + ": " + got[i] + " vs reference " + want[i]);
    }

    @Test
    void unknownArchitecture_isNamed() throws Exception {
        Map<String, long[]> shapes = new LinkedHashMap<>();
        Map<String, float[]> w = SyntheticModels.weights(Arch.LLAMA, shapes, 1);
        Path file = SyntheticModels.write(dir.resolve("gpt2.gguf"), "gpt2", Arch.LLAMA, w, shapes);
        FabricException e = assertThrows(FabricException.class, () -> Model.open(file, new CpuBackend(1)));
        assertTrue(e.getMessage().contains("'gpt2'") && e.getMessage().contains(file.toString()), e.getMessage());
    }

    @Test
    void missingTensor_isNamed() throws Exception {
        Map<String, long[]> shapes = new LinkedHashMap<>();
        Map<String, float[]> w = SyntheticModels.weights(Arch.LLAMA, shapes, 1);
        w.remove("blk.1.ffn_up.weight");
        Path file = SyntheticModels.write(dir.resolve("broken.gguf"), "llama", Arch.LLAMA, w, shapes);
        FabricException e = assertThrows(FabricException.class, () -> Model.open(file, new CpuBackend(1)));
        assertTrue(e.getMessage().contains("blk.1.ffn_up.weight"), e.getMessage());
    }
}
