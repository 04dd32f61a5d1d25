package dev.fabric.graph;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fabric.backend.DType;
import dev.fabric.backend.Tensor;
import dev.fabric.backend.cpu.CpuBackend;
import dev.fabric.bench.EngineBench;
import dev.fabric.model.Arch;
import dev.fabric.model.ModelConfig;
import dev.fabric.model.ModelWeights;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The planner's accounting on a small random model: optimizer state is two floats per trainable value,
 * checkpointing keeps fewer activations than keeping every layer's, buffer reuse keeps the arena below the sum of
 * all buffers, and the plan's peak covers what it lists.
 */
class MemoryPlanTest {
    @Test
    void plan_countsCategories_andCheckpointingSavesActivations() {
        ModelConfig c = new ModelConfig(Arch.QWEN3, 64, 4, 4, 2, 16, 96, 1e-6f, 1e6f, 16, 200, true, 256);
        CpuBackend b = new CpuBackend(2);
        List<Tensor> owned = new ArrayList<>();
        try {
            ModelWeights w = EngineBench.randomWeights(c, DType.F16, b, owned, new SplittableRandom(1));
            List<TrainingSession.LoraTarget> t = new ArrayList<>();
            for (int l = 0; l < c.nLayer(); l++)
                t.add(new TrainingSession.LoraTarget("blk." + l + ".attn_q.weight", 4, 1f, 0f, null, null));
            MemoryPlan keep, ckpt;
            long allBuffers = 0;
            try (TrainingSession s = TrainingSession.lora(c, w, b, t, new TrainingSession.Options(false, 32, 0))) {
                keep = s.plan(2, 64, 2);
                for (Node n : s.graph(2, 64).nodes())
                    if (!n.op.isSink() && !n.op.isView() && n.op != OpKind.PARAM && n.op != OpKind.INPUT) allBuffers += n.bytes();
            }
            try (TrainingSession s = TrainingSession.lora(c, w, b, t, new TrainingSession.Options(true, 32, 0))) {
                ckpt = s.plan(2, 64, 2);
            }
            long trainable = c.nLayer() * 4L * (c.qDim() + c.nEmbd());
            assertEquals(8 * trainable, keep.optimizerState());
            assertEquals(4 * trainable, keep.paramGradients());
            assertEquals(4 * trainable, keep.trainableCopies());
            assertTrue(keep.arena() >= keep.savedActivations() + keep.backwardValues());
            assertTrue(keep.arena() < allBuffers, "buffers are reused: arena " + keep.arena() + " of " + allBuffers);
            assertTrue(ckpt.savedActivations() < keep.savedActivations(),
                    "checkpointing keeps fewer activations: " + ckpt + " vs " + keep);
            assertTrue(keep.peak() > keep.weights() + keep.arena());
            System.out.println("PLAN keep:       " + keep);
            System.out.println("PLAN checkpoint: " + ckpt);
        } finally {
            owned.forEach(Tensor::close);
        }
    }
}
