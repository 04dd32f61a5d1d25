package dev.fabric.lora;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.fabric.FabricException;
import dev.fabric.backend.DType;
import dev.fabric.backend.cpu.CpuBackend;
import dev.fabric.gguf.GgmlType;
import dev.fabric.gguf.GgufMetadata;
import dev.fabric.gguf.GgufValue;
import dev.fabric.gguf.GgufWriter;
import dev.fabric.gguf.TensorSpec;
import dev.fabric.model.Arch;
import dev.fabric.model.Model;
import dev.fabric.model.SyntheticModels;
import dev.fabric.model.Transformer;
import dev.fabric.testing.SharedRef;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LoraAdapterTest {
    @TempDir
    Path dir;

    @Test
    void referenceAdapter_readsAlphaRankAndPairs() throws Exception {
        CpuBackend b = new CpuBackend(1);
        try (LoraAdapter a = LoraAdapter.load(SharedRef.require("engine/qwen3-spm-parity-lora.gguf"), b);
                Model m = Model.open(SharedRef.require("engine/qwen3-spm-parity-f16.gguf"), b);
                Transformer t = m.newSession(16, List.of(new Transformer.AppliedLora(a, 1f)))) {
            assertEquals(16f, a.alpha());
            assertEquals(4 * 9, a.pairs().size()); // seven projections and the two q/k norms per layer
            LoraAdapter.Pair q = a.pairs().get("blk.0.attn_q.weight");
            assertEquals(8, q.rank());
            assertEquals(2f, a.scale(q, 1f)); // alpha / rank
            assertEquals(1f, a.scale(q, 0.5f));
            // llama.cpp applies LoRA to matrix products only: the norm pairs stay unused
            assertEquals(8, t.unusedLoraTensors().size());
            assertTrue(t.unusedLoraTensors().stream().allMatch(n -> n.contains("_norm")), t.unusedLoraTensors().toString());
        }
    }

    @Test
    void modelFile_isNotAnAdapter() {
        Path model = SharedRef.require("engine/stories260K.gguf");
        FabricException e = assertThrows(FabricException.class, () -> LoraAdapter.load(model, new CpuBackend(1)));
        assertTrue(e.getMessage().contains("general.type"), e.getMessage());
    }

    /** W x + s B (A x) must equal (W + s B A) x: the adapter against a model with the delta merged into W. */
    @Test
    void appliedAdapter_equalsMergedWeights() throws Exception {
        Map<String, long[]> shapes = new LinkedHashMap<>();
        Map<String, float[]> w = SyntheticModels.weights(Arch.LLAMA, shapes, 5);
        Path base = SyntheticModels.write(dir.resolve("base.gguf"), "llama", Arch.LLAMA, w, shapes);
        int rank = 2;
        float alpha = 3f, userScale = 0.7f, s = userScale * alpha / rank;
        Random r = new Random(9);
        Map<String, float[]> merged = new LinkedHashMap<>(w);
        List<TensorSpec> specs = new ArrayList<>();
        List<float[]> data = new ArrayList<>();
        for (String name : List.of("blk.0.attn_q.weight", "blk.1.attn_v.weight", "blk.0.ffn_down.weight", "output.weight")) {
            int nOut = (int) shapes.get(name)[0], nIn = (int) shapes.get(name)[1];
            float[] a = new float[rank * nIn], bb = new float[nOut * rank];
            for (int i = 0; i < a.length; i++) a[i] = (float) r.nextGaussian() * 0.3f;
            for (int i = 0; i < bb.length; i++) bb[i] = (float) r.nextGaussian() * 0.3f;
            // GGUF: lora_a ne = (n_in, rank), lora_b ne = (rank, n_out)
            specs.add(new TensorSpec(name + ".lora_a", new long[] {nIn, rank}, GgmlType.F32));
            data.add(a);
            specs.add(new TensorSpec(name + ".lora_b", new long[] {rank, nOut}, GgmlType.F32));
            data.add(bb);
            float[] m = merged.get(name).clone();
            for (int o = 0; o < nOut; o++)
                for (int i = 0; i < nIn; i++) {
                    double d = 0;
                    for (int k = 0; k < rank; k++) d += (double) bb[o * rank + k] * a[k * nIn + i];
                    m[o * nIn + i] += (float) (s * d);
                }
            merged.put(name, m);
        }
        Path adapter = dir.resolve("adapter.gguf");
        GgufMetadata md = GgufMetadata.builder().putString("general.architecture", "llama")
                .putString("general.type", "adapter").putString("adapter.type", "lora")
                .put("adapter.lora.alpha", GgufValue.f32(alpha)).build();
        try (GgufWriter out = GgufWriter.create(adapter, md, specs, 32)) {
            for (int i = 0; i < data.size(); i++) {
                ByteBuffer buf = ByteBuffer.allocate(data.get(i).length * 4).order(ByteOrder.LITTLE_ENDIAN);
                buf.asFloatBuffer().put(data.get(i));
                out.writeTensor(i, buf);
            }
            out.finish();
        }
        Path mergedFile = SyntheticModels.write(dir.resolve("merged.gguf"), "llama", Arch.LLAMA, merged, shapes);
        int[] tokens = {4, 9, 33, 1, 0};
        CpuBackend b = new CpuBackend(2);
        float[] viaLora, viaMerge;
        try (Model m = Model.open(base, b); LoraAdapter a = LoraAdapter.load(adapter, b);
                Transformer t = new Transformer(m.config(), m.weights(), b, 8, DType.F32,
                        List.of(new Transformer.AppliedLora(a, userScale)))) {
            assertTrue(t.unusedLoraTensors().isEmpty());
            viaLora = t.forward(tokens, 0, false);
        }
        try (Model m = Model.open(mergedFile, b);
                Transformer t = new Transformer(m.config(), m.weights(), b, 8, DType.F32, List.of())) {
            viaMerge = t.forward(tokens, 0, false);
        }
        double maxDiff = 0;
        for (int i = 0; i < viaLora.length; i++) maxDiff = Math.max(maxDiff, Math.abs(viaLora[i] - viaMerge[i]));
        // both F32: only rounding of the merged weights and summation order differ (logits are O(1))
        if (maxDiff > 1e-4) fail("LoRA vs merged logits differ by " + maxDiff);
    }
}
