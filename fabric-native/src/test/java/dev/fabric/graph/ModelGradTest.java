package dev.fabric.graph;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fabric.backend.RefOps;
import dev.fabric.backend.cpu.CpuBackend;
import dev.fabric.model.Arch;
import dev.fabric.model.Model;
import dev.fabric.model.SyntheticModels;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Whole-model gradients of the graph engine on the project's tiny random models ({@link SyntheticModels}: 2
 * layers, GQA 2) against central finite differences of a double-precision reference of the same loss
 * ({@link RefModel}), for LoRA on all seven roles and for full training of every weight. The batch holds two
 * sequences with different loss masks, the second packing two examples (segment ids, positions restarting).
 * Per tensor the error is max |engine - numeric| / max |engine| over sampled entries; tolerance 1e-3: the engine
 * runs in F32 through two layers (relative rounding about 1e-6 per op), the differences are taken in double with
 * step 1e-3 (truncation about 1e-7 relative), so 1e-3 passes only correct gradients with a wide margin.
 */
class ModelGradTest {
    private static final Map<String, Double> WORST = new TreeMap<>();
    private static final String[] ROLES = {"attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"};
    private static final double TOL = 1e-3;

    @TempDir
    Path dir;

    @AfterAll
    static void report() {
        WORST.forEach((k, e) -> System.out.printf("MODELGRAD %-34s largest relative error %.3e%n", k, e));
    }

    /** Two rows of 7: row 0 under the loss from position 3 on, row 1 two packed examples, all under the loss. */
    static TrainingSession.Batch batch() {
        int[] tokens = {3, 17, 0, 49, 25, 25, 8, 11, 4, 40, 2, 2, 33, 7};
        int[] targets = {-1, -1, -1, 25, 25, 8, 30, 4, 40, -1, 2, 33, 7, 1};
        int[] pos = {0, 1, 2, 3, 4, 5, 6, 0, 1, 2, 0, 1, 2, 3};
        int[] seg = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1};
        return new TrainingSession.Batch(2, 7, tokens, targets, pos, seg);
    }

    private Model fixture(Arch a, Map<String, float[]> w) throws Exception {
        Map<String, long[]> shapes = new LinkedHashMap<>();
        w.putAll(SyntheticModels.weights(a, shapes, a.ordinal() + 5));
        Path file = SyntheticModels.write(dir.resolve(a + ".gguf"), a.ggufName(), a, w, shapes);
        return Model.open(file, new CpuBackend(2));
    }

    private static Map<String, double[]> doubles(Map<String, float[]> w) {
        Map<String, double[]> d = new HashMap<>();
        w.forEach((k, v) -> d.put(k, RefOps.toDouble(v)));
        return d;
    }

    private static List<TrainingSession.LoraTarget> loraTargets(Map<String, float[]> w, Arch a, int rank, Random r) {
        List<TrainingSession.LoraTarget> t = new ArrayList<>();
        for (int l = 0; l < SyntheticModels.LAYERS; l++)
            for (String role : ROLES) {
                String name = "blk." + l + "." + role + ".weight";
                int out, in;
                int hd = SyntheticModels.headDim(a), q = SyntheticModels.HEADS * hd, kv = SyntheticModels.KV_HEADS * hd;
                switch (role) {
                    case "attn_q" -> { out = q; in = SyntheticModels.EMBD; }
                    case "attn_k", "attn_v" -> { out = kv; in = SyntheticModels.EMBD; }
                    case "attn_output" -> { out = SyntheticModels.EMBD; in = q; }
                    case "ffn_gate", "ffn_up" -> { out = SyntheticModels.FF; in = SyntheticModels.EMBD; }
                    default -> { out = SyntheticModels.EMBD; in = SyntheticModels.FF; }
                }
                float[] A = new float[rank * in], B = new float[out * rank];
                for (int i = 0; i < A.length; i++) A[i] = (float) (0.3 * r.nextGaussian());
                for (int i = 0; i < B.length; i++) B[i] = (float) (0.3 * r.nextGaussian());
                t.add(new TrainingSession.LoraTarget(name, rank, 0.75f, 0f, A, B));
            }
        return t;
    }

    @ParameterizedTest
    @EnumSource(Arch.class)
    void lora_allSevenRoles_gradientsMatchFiniteDifferences(Arch a) throws Exception {
        Map<String, float[]> w = new LinkedHashMap<>();
        try (Model m = fixture(a, w)) {
            List<TrainingSession.LoraTarget> targets = loraTargets(w, a, 3, new Random(7));
            TrainingSession.Batch bt = batch();
            try (TrainingSession s = TrainingSession.lora(m.config(), m.weights(), m.backend(), targets,
                    TrainingSession.Options.defaults())) {
                Executor.Result res = s.forwardBackward(bt);
                Map<String, double[]> wd = doubles(w);
                Map<String, List<RefModel.Lora>> ref = new HashMap<>();
                Map<String, double[]> loraValues = new LinkedHashMap<>();
                for (TrainingSession.LoraTarget t : targets) {
                    double[] A = RefOps.toDouble(t.a()), B = RefOps.toDouble(t.b());
                    ref.computeIfAbsent(t.weight(), k -> new ArrayList<>()).add(new RefModel.Lora(A, B, t.rank(), t.scale()));
                    loraValues.put(t.weight() + ".lora_a", A);
                    loraValues.put(t.weight() + ".lora_b", B);
                }
                double want = RefModel.loss(a, wd, ref, bt);
                assertEquals(10, res.targets());
                assertEquals(want, res.lossSum(), 1e-5 * want, "loss sum against the double reference");
                for (var e : loraValues.entrySet()) {
                    String role = e.getKey().replaceAll("blk\\.\\d+\\.|\\.weight", "");
                    check(a + " lora " + role, s.param(e.getKey()).grads(), e.getValue(),
                            () -> RefModel.loss(a, wd, ref, bt), new Random(e.getKey().hashCode()));
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Arch.class)
    void fullTraining_everyWeight_gradientsMatchFiniteDifferences(Arch a) throws Exception {
        Map<String, float[]> w = new LinkedHashMap<>();
        try (Model m = fixture(a, w)) {
            TrainingSession.Batch bt = batch();
            try (TrainingSession s = TrainingSession.full(m.config(), m.weights(), m.backend(), TrainingSession.Options.defaults())) {
                Executor.Result res = s.forwardBackward(bt);
                Map<String, double[]> wd = doubles(w);
                double want = RefModel.loss(a, wd, Map.of(), bt);
                assertEquals(want, res.lossSum(), 1e-5 * want, "loss sum against the double reference");
                assertEquals(w.size(), s.trainable().size());
                for (String name : w.keySet()) {
                    String kind = name.replaceAll("blk\\.\\d+\\.", "");
                    check(a + " full " + kind, s.param(name).grads(), wd.get(name), () -> RefModel.loss(a, wd, Map.of(), bt),
                            new Random(name.hashCode()));
                }
            }
        }
    }

    @Test
    void everyTargetUnderTheLoss_noGather_matchesReference() throws Exception {
        Map<String, float[]> w = new LinkedHashMap<>();
        Arch a = Arch.QWEN3;
        try (Model m = fixture(a, w);
                TrainingSession s = TrainingSession.full(m.config(), m.weights(), m.backend(), TrainingSession.Options.defaults())) {
            TrainingSession.Batch b0 = batch();
            int[] targets = b0.targets().clone();
            for (int i = 0; i < targets.length; i++) if (targets[i] < 0) targets[i] = (i * 7) % SyntheticModels.VOCAB;
            TrainingSession.Batch bt = new TrainingSession.Batch(2, 7, b0.tokens(), targets, b0.positions(), b0.segments());
            Executor.Result res = s.forwardBackward(bt);
            Map<String, double[]> wd = doubles(w);
            assertEquals(14, res.targets());
            assertEquals(RefModel.loss(a, wd, Map.of(), bt), res.lossSum(), 1e-5 * res.lossSum());
            for (String name : List.of("output_norm.weight", "token_embd.weight", "blk.1.ffn_down.weight"))
                check(a + " full (no gather) " + name, s.param(name).grads(), wd.get(name),
                        () -> RefModel.loss(a, wd, Map.of(), bt), new Random(1));
        }
    }

    /** Compares sampled entries of an engine gradient with central differences of the reference loss. */
    private static void check(String what, FloatBuffer grad, double[] value, java.util.function.DoubleSupplier loss, Random r) {
        double scale = 1e-30;
        for (int i = 0; i < grad.capacity(); i++) scale = Math.max(scale, Math.abs(grad.get(i)));
        double worst = 0;
        int samples = Math.min(value.length, 10);
        for (int s = 0; s < samples; s++) {
            int i = samples == value.length ? s : r.nextInt(value.length);
            // make sure some entries with a large gradient are sampled too
            if (s == 0) for (int j = 0; j < grad.capacity(); j++) if (Math.abs(grad.get(j)) == scale) i = j;
            double keep = value[i], h = 1e-3;
            value[i] = keep + h;
            double up = loss.getAsDouble();
            value[i] = keep - h;
            double down = loss.getAsDouble();
            value[i] = keep;
            double numeric = (up - down) / (2 * h);
            worst = Math.max(worst, Math.abs(grad.get(i) - numeric) / scale);
        }
        synchronized (WORST) {
            WORST.merge(what, worst, Math::max);
        }
        assertTrue(worst <= TOL, what + ": relative error " + worst);
    }

    @Test
    void checkpointing_andThreadCount_giveTheSameBits() throws Exception {
        Map<String, float[]> w = new LinkedHashMap<>();
        Arch a = Arch.QWEN3;
        try (Model m = fixture(a, w)) {
            List<TrainingSession.LoraTarget> targets = loraTargets(w, a, 4, new Random(3));
            float[][] runs = new float[3][];
            for (int run = 0; run < 3; run++) {
                CpuBackend b = new CpuBackend(run == 1 ? 1 : 2);
                TrainingSession.Options o = new TrainingSession.Options(run == 2, 5, 0);
                try (TrainingSession s = TrainingSession.lora(m.config(), m.weights(), b, targets, o)) {
                    s.forwardBackward(batch());
                    List<Float> all = new ArrayList<>();
                    for (Param p : s.trainable()) {
                        FloatBuffer g = p.grads();
                        for (int i = 0; i < g.capacity(); i++) all.add(g.get(i));
                    }
                    runs[run] = new float[all.size()];
                    for (int i = 0; i < all.size(); i++) runs[run][i] = all.get(i);
                }
            }
            assertArrayEquals(runs[0], runs[1], "1 thread vs 2 threads");
            assertArrayEquals(runs[0], runs[2], "checkpointing vs keeping activations");
            System.out.println("DETERMINISM qwen3 lora grads: 1 thread == 2 threads == 2 threads + checkpointing, bit for bit ("
                    + runs[0].length + " values)");
        }
    }

    @Test
    void gradients_accumulateOverCalls_untilZeroed() throws Exception {
        Map<String, float[]> w = new LinkedHashMap<>();
        try (Model m = fixture(Arch.LLAMA, w);
                TrainingSession s = TrainingSession.lora(m.config(), m.weights(), m.backend(),
                        loraTargets(w, Arch.LLAMA, 2, new Random(9)), TrainingSession.Options.defaults())) {
            s.forwardBackward(batch());
            Param p = s.trainable().get(0);
            float once = p.grads().get(5);
            s.forwardBackward(batch());
            assertEquals(2 * once, p.grads().get(5), 1e-6 * Math.abs(once));
            s.zeroGrad();
            assertEquals(0f, p.grads().get(5));
        }
    }

    @Test
    void tinyModel_overfitsFourSequences() throws Exception {
        Map<String, float[]> w = new LinkedHashMap<>();
        try (Model m = fixture(Arch.QWEN3, w);
                TrainingSession s = TrainingSession.full(m.config(), m.weights(), m.backend(), TrainingSession.Options.defaults())) {
            TrainingSession.Batch bt = TrainingSession.Batch.of(new int[] {1, 5, 9, 13, 17, 21, 25, 29},
                    new int[] {2, 4, 8, 16, 32, 14, 28, 6}, new int[] {49, 48, 47, 46, 45, 44, 43, 42},
                    new int[] {7, 7, 3, 3, 7, 7, 3, 3});
            // a minimal Adam (the real AdamW lives in finetune)
            List<Param> ps = s.trainable();
            List<float[]> m1 = new ArrayList<>(), m2 = new ArrayList<>();
            for (Param p : ps) {
                m1.add(new float[(int) p.numel()]);
                m2.add(new float[(int) p.numel()]);
            }
            double loss = Double.NaN, first = Double.NaN;
            int steps = 0;
            for (int step = 1; step <= 800; step++) {
                s.zeroGrad();
                Executor.Result r = s.forwardBackward(bt, 1f / 28);
                loss = r.lossSum() / r.targets();
                if (step == 1) first = loss;
                steps = step;
                if (loss < 0.05) break;
                double c1 = 1 - Math.pow(0.9, step), c2 = 1 - Math.pow(0.999, step);
                for (int i = 0; i < ps.size(); i++) {
                    FloatBuffer v = ps.get(i).values(), g = ps.get(i).grads();
                    float[] a1 = m1.get(i), a2 = m2.get(i);
                    for (int j = 0; j < a1.length; j++) {
                        float gj = g.get(j);
                        a1[j] = 0.9f * a1[j] + 0.1f * gj;
                        a2[j] = 0.999f * a2[j] + 0.001f * gj * gj;
                        v.put(j, (float) (v.get(j) - 0.02 * (a1[j] / c1) / (Math.sqrt(a2[j] / c2) + 1e-8)));
                    }
                }
            }
            System.out.printf("OVERFIT qwen3 tiny, full training, Adam lr 2e-2: loss %.3f -> %.4f in %d steps%n", first, loss, steps);
            assertTrue(loss < 0.05, "loss " + loss);
        }
    }
}
