package dev.fabric.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fabric.FabricException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainerTest {
    static final int C = 3, D = 4;

    @TempDir
    Path dir;

    static Trainer.Config config(long updates, int accumulation, double maxNorm, int maxSkips) {
        return new Trainer.Config(updates, accumulation, new LrSchedule(LrSchedule.Kind.COSINE, 0.05, 5, (int) updates),
                maxNorm, new AdamW.Config(0.9, 0.999, 1e-8, 0.01), maxSkips, 7);
    }

    static double meanLoss(SoftmaxRegression m, List<SoftmaxRegression.Example> data) {
        LossSum s = m.forwardBackward(new SoftmaxRegression.Batch(data, false), 0);
        m.zeroGrad();
        return s.sum() / s.tokens();
    }

    static float[] snapshot(TrainableParams p) {
        List<Float> out = new ArrayList<>();
        for (int i = 0; i < p.size(); i++) for (int j = 0; j < p.value(i).capacity(); j++) out.add(p.value(i).get(j));
        float[] a = new float[out.size()];
        for (int i = 0; i < a.length; i++) a[i] = out.get(i);
        return a;
    }

    /** Softmax regression on separable clusters must learn them: mean loss from ln 3 = 1.10 to below 0.2 (with input dropout 0.1 and weight decay). */
    @Test
    void converges_andWritesMetrics() throws Exception {
        List<SoftmaxRegression.Example> data = ListSource.clusters(C, D, 60, 1);
        SoftmaxRegression m = new SoftmaxRegression(C, D, 0.1);
        ListSource src = new ListSource(data, new int[] {3, 5, 4}, 11, i -> false);
        double before = meanLoss(m, data);
        Path metrics = dir.resolve("metrics.jsonl");
        try (MetricsLog log = new MetricsLog(metrics)) {
            new Trainer<>(m, src, config(400, 2, 1.0, 3)).onStep(log::write).run(null);
        }
        double after = meanLoss(m, data);
        assertEquals(Math.log(3), before, 1e-6);
        assertTrue(after < 0.2, "loss " + before + " -> " + after);

        List<String> lines = Files.readAllLines(metrics);
        assertEquals(400, lines.size());
        JsonNode last = new ObjectMapper().readTree(lines.get(399));
        assertEquals(400, last.get("step").asLong());
        assertEquals(400, last.get("update").asLong());
        assertEquals(8, last.get("tokens").asLong());   // micro-batches 798 and 799 of sizes 3, 5, 4 in turn: 3 + 5
        for (String f : List.of("loss", "lr", "grad_norm", "tokens_per_second", "skipped", "skipped_total"))
            assertTrue(last.has(f), f + " in " + lines.get(399));
        assertEquals(0.0, new ObjectMapper().readTree(lines.get(0)).get("lr").asDouble());   // warmup starts at 0
    }

    /**
     * Accumulation normalises per target token over the whole step: micro-batches of 1 and 3 examples give
     * bit-for-bit the update of one micro-batch of the same 4 examples (the gradients add in the same order), and
     * the step's loss is their per-example mean, not the mean of the two micro-batch means.
     */
    @Test
    void accumulationIsPerTokenOverTheStep() {
        List<SoftmaxRegression.Example> data = ListSource.clusters(C, D, 4, 2);
        SoftmaxRegression split = new SoftmaxRegression(C, D, 0), whole = new SoftmaxRegression(C, D, 0);
        for (SoftmaxRegression s : List.of(split, whole)) s.params().value(0).put(1, 0.5f);
        double expectedLoss = meanLoss(whole, data);
        Trainer.Config cfg = new Trainer.Config(3, 2, new LrSchedule(LrSchedule.Kind.CONSTANT, 0.1, 0, 3), 0,
                AdamW.Config.PYTORCH, 1, 0);
        StepRecord r = new Trainer<>(split, new ListSource(data, new int[] {1, 3}, 5, i -> false), cfg).step();
        Trainer.Config one = new Trainer.Config(3, 1, cfg.schedule(), 0, cfg.adam(), 1, 0);
        StepRecord q = new Trainer<>(whole, new ListSource(data, new int[] {4}, 5, i -> false), one).step();
        assertArrayEquals(snapshot(whole.params()), snapshot(split.params()));
        assertEquals(4, r.tokens());
        assertEquals(expectedLoss, r.loss(), 1e-12);
        assertEquals(q.loss(), r.loss(), 1e-12);
        assertEquals(q.gradNorm(), r.gradNorm(), 0);
    }

    /** A NaN step is skipped: nothing changes but the counters and the data position; training goes on. */
    @Test
    void nonFiniteStepIsSkipped() {
        List<SoftmaxRegression.Example> data = ListSource.clusters(C, D, 30, 3);
        SoftmaxRegression m = new SoftmaxRegression(C, D, 0);
        Trainer<SoftmaxRegression.Batch> t =
                new Trainer<>(m, new ListSource(data, new int[] {5}, 1, i -> i == 4), config(40, 2, 1.0, 3));
        t.step();
        t.step();
        float[] before = snapshot(m.params());
        FloatBuffer m0 = t.optimizer().m(0);
        float mBefore = m0.get(0);
        StepRecord r = t.step();                      // micro-batch 4 is the first of step 3
        assertTrue(r.skipped());
        assertTrue(Double.isNaN(r.loss()));
        assertEquals(1, r.skippedTotal());
        assertEquals(2, r.update());
        assertArrayEquals(before, snapshot(m.params()));
        assertEquals(mBefore, m0.get(0));
        assertEquals(0f, m.params().grad(0).get(0));  // gradients cleared for the next step
        StepRecord next = t.step();
        assertFalse(next.skipped());
        assertEquals(3, next.update());
        assertEquals(4, next.step());
        t.run(null);
        assertEquals(40, t.updates());
        assertEquals(41, t.steps());
        assertEquals(1, t.skipped());
        assertTrue(meanLoss(m, data) < 0.2);
    }

    /** A skipped step's line is still valid JSON: a non-finite loss is written as a string. */
    @Test
    void metricsLineOfASkippedStepIsJson() throws Exception {
        Path f = dir.resolve("m.jsonl");
        try (MetricsLog log = new MetricsLog(f)) {
            log.write(new StepRecord(3, 2, Double.NaN, 1e-4, Double.POSITIVE_INFINITY, 10, 5.0, true, 1));
        }
        try (MetricsLog log = new MetricsLog(f)) {   // appends, as a resumed run does
            log.write(new StepRecord(4, 3, 0.5, 1e-4, 1.0, 10, 5.0, false, 1));
        }
        List<String> lines = Files.readAllLines(f);
        assertEquals(2, lines.size());
        JsonNode j = new ObjectMapper().readTree(lines.get(0));
        assertEquals("NaN", j.get("loss").asText());
        assertEquals("Infinity", j.get("grad_norm").asText());
        assertTrue(j.get("skipped").asBoolean());
        assertEquals(0.5, new ObjectMapper().readTree(lines.get(1)).get("loss").asDouble());
    }

    @Test
    void repeatedNonFiniteStepsStopTheRun() {
        List<SoftmaxRegression.Example> data = ListSource.clusters(C, D, 30, 3);
        SoftmaxRegression m = new SoftmaxRegression(C, D, 0);
        Trainer<SoftmaxRegression.Batch> t =
                new Trainer<>(m, new ListSource(data, new int[] {5}, 1, i -> i >= 6), config(40, 2, 1.0, 3));
        FabricException e = assertThrows(FabricException.class, () -> t.run(null));
        assertTrue(e.getMessage().startsWith("step 6:"), e.getMessage());
        assertTrue(e.getMessage().contains("steps 4 to 6"), e.getMessage());
        assertEquals(3, t.updates());
    }

    /** With clipping, the update is Adam's (scale-invariant), but the recorded norm is the one before clipping. */
    @Test
    void clippingRecordsTheNormBeforeClipping() {
        List<SoftmaxRegression.Example> data = ListSource.clusters(C, D, 8, 4);
        SoftmaxRegression a = new SoftmaxRegression(C, D, 0);
        StepRecord r = new Trainer<>(a, new ListSource(data, new int[] {8}, 1, i -> false), config(1, 1, 1e-3, 1))
                .step();
        assertTrue(r.gradNorm() > 0.1, "norm " + r.gradNorm());
    }
}
