package dev.fabric.lora;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fabric.gguf.GgmlType;
import dev.fabric.gguf.GgufTensorInfo;
import dev.fabric.train.AdamW;
import dev.fabric.train.BatchSource;
import dev.fabric.train.Checkpoints;
import dev.fabric.train.LossSum;
import dev.fabric.train.LrSchedule;
import dev.fabric.train.Rng;
import dev.fabric.train.StepModel;
import dev.fabric.train.Trainer;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The LoRA pieces together: a frozen linear layer y = W x + s·B (A x) whose target is W plus a rank-2 change,
 * trained with the {@link Trainer} on {@link LoraWeights} (analytic gradients: dB = s·e (A x)ᵀ, dA = s·Bᵀ e xᵀ
 * for the squared error e = ŷ − y), checkpointed with the adapter GGUF beside it, and read back.
 */
class LoraTrainingTest {
    static final int IN = 8, OUT = 6;

    @TempDir
    Path dir;

    /** One micro-batch: example indices into a fixed input set. */
    record Batch(int from, int n) {}

    static final class Layer implements StepModel<Batch> {
        final LoraWeights w;
        final float[] base = new float[OUT * IN], target = new float[OUT * IN];
        final float[][] xs = new float[64][IN];
        final float s;

        Layer(LoraWeights w) {
            this.w = w;
            this.s = (float) w.config().scale();
            Rng r = new Rng(17);
            for (int i = 0; i < base.length; i++) base[i] = (float) (r.nextDouble() - 0.5);
            float[] u = new float[OUT * 2], v = new float[2 * IN];
            for (int i = 0; i < u.length; i++) u[i] = (float) (r.nextDouble() - 0.5);
            for (int i = 0; i < v.length; i++) v[i] = (float) (r.nextDouble() - 0.5);
            for (int o = 0; o < OUT; o++)
                for (int i = 0; i < IN; i++) target[o * IN + i] = base[o * IN + i] + u[o * 2] * v[i] + u[o * 2 + 1] * v[IN + i];
            for (float[] x : xs) for (int i = 0; i < IN; i++) x[i] = (float) (2 * r.nextDouble() - 1);
        }

        @Override
        public LossSum forwardBackward(Batch b, long seed) {
            int rank = w.config().rank();
            FloatBuffer a = w.a(0), bb = w.b(0), ga = w.grad(0), gb = w.grad(1);
            double sum = 0;
            for (int k = 0; k < b.n(); k++) {
                float[] x = xs[(b.from() + k) % xs.length];
                float[] ax = new float[rank];
                for (int q = 0; q < rank; q++) for (int i = 0; i < IN; i++) ax[q] += a.get(q * IN + i) * x[i];
                float[] e = new float[OUT];
                for (int o = 0; o < OUT; o++) {
                    float y = 0, yt = 0;
                    for (int i = 0; i < IN; i++) {
                        y += base[o * IN + i] * x[i];
                        yt += target[o * IN + i] * x[i];
                    }
                    for (int q = 0; q < rank; q++) y += s * bb.get(o * rank + q) * ax[q];
                    e[o] = y - yt;
                    sum += 0.5 * e[o] * e[o];
                }
                for (int o = 0; o < OUT; o++)
                    for (int q = 0; q < rank; q++) gb.put(o * rank + q, gb.get(o * rank + q) + s * e[o] * ax[q]);
                for (int q = 0; q < rank; q++) {
                    float bte = 0;
                    for (int o = 0; o < OUT; o++) bte += bb.get(o * rank + q) * e[o];
                    for (int i = 0; i < IN; i++) ga.put(q * IN + i, ga.get(q * IN + i) + s * bte * x[i]);
                }
            }
            return new LossSum(sum, b.n());
        }

        @Override
        public LoraWeights params() {
            return w;
        }
    }

    static final class Cycle implements BatchSource<Batch> {
        int next;

        public Batch next() {
            Batch b = new Batch(next, 8);
            next += 8;
            return b;
        }

        public byte[] state() {
            return java.nio.ByteBuffer.allocate(4).putInt(next).array();
        }

        public void restore(byte[] s) {
            next = java.nio.ByteBuffer.wrap(s).getInt();
        }
    }

    @Test
    void learnsALowRankChange_andSavesTheAdapter() throws Exception {
        LoraConfig c = new LoraConfig(2, 4, 0, false, Set.of(LoraRole.ATTN_Q), 5);
        List<LoraTarget> targets = LoraTarget.select(
                List.of(new GgufTensorInfo("blk.0.attn_q.weight", new long[] {IN, OUT}, GgmlType.F32, 0)), c.roles(), "m");
        Layer layer = new Layer(LoraWeights.initialise(c, targets));
        double before = mse(layer);
        Trainer<Batch> t = new Trainer<>(layer, new Cycle(), new Trainer.Config(300, 2,
                new LrSchedule(LrSchedule.Kind.LINEAR, 0.05, 10, 300), 1.0, new AdamW.Config(0.9, 0.999, 1e-8, 0.0), 3, 1));
        Checkpoints cp = new Checkpoints(dir.resolve("ckpt"), 1, "r");
        t.run(r -> {
            if (r.update() % 100 == 0) {
                try {
                    cp.save(t, d -> GgufLoraWriter.write(d.resolve("adapter.gguf"), layer.w, "qwen3"));
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }
        });
        double after = mse(layer);
        assertTrue(after < 1e-3 * before, "mean squared error " + before + " -> " + after);

        Path adapter = Checkpoints.latest(dir.resolve("ckpt")).resolve("adapter.gguf");
        assertTrue(Files.exists(adapter));
        LoraWeights back = LoraWeights.fromGguf(adapter, c, targets);
        for (int i = 0; i < 2; i++) {
            float[] x = new float[layer.w.numel(i)], y = new float[x.length];
            layer.w.value(i).get(0, x);
            back.value(i).get(0, y);
            assertArrayEquals(x, y);
        }
        assertEquals(dir.resolve("ckpt").resolve("checkpoint-300"), Checkpoints.latest(dir.resolve("ckpt")));
    }

    /** Per-example loss over the whole input set, without touching the gradients' meaning for training. */
    private static double mse(Layer l) {
        LossSum s = l.forwardBackward(new Batch(0, l.xs.length), 0);
        l.w.zeroGrad();
        return s.sum() / s.tokens();
    }
}
