package dev.fabric.e2e.hf;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fabric.backend.DType;
import dev.fabric.backend.cpu.CpuBackend;
import dev.fabric.graph.Param;
import dev.fabric.graph.TrainingSession;
import dev.fabric.lora.AdapterBase;
import dev.fabric.lora.GgufLoraWriter;
import dev.fabric.lora.LoraAdapter;
import dev.fabric.lora.LoraConfig;
import dev.fabric.lora.LoraRole;
import dev.fabric.lora.LoraTarget;
import dev.fabric.lora.LoraWeights;
import dev.fabric.lora.PeftAdapter;
import dev.fabric.model.Arch;
import dev.fabric.model.Model;
import dev.fabric.model.SyntheticModels;
import dev.fabric.model.Transformer;
import dev.fabric.train.AdamW;
import dev.fabric.train.BatchSource;
import dev.fabric.train.LrSchedule;
import dev.fabric.train.Rng;
import dev.fabric.train.StepRecord;
import dev.fabric.train.Trainer;
import dev.fabric.tune.GraphStepModel;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Fabric's side of the cross-checks against Hugging Face {@code transformers} + {@code peft} + {@code torch}
 * (tests/python/hf_crosscheck.py is the other side). Each case is a folder of plain files the Python script reads:
 * <ul>
 *   <li>{@link #writeTrainingCase}: a tiny model GGUF, the initial LoRA as a PEFT folder ({@code peft_init/}), two
 *       sequences with different loss masks, Fabric's per-step losses and gradient norms of three AdamW steps
 *       through the training engine ({@link TrainingSession} driven by the {@link Trainer}), and the LoRA after
 *       them ({@code peft_final/}); {@code case.json} holds the rest.
 *   <li>{@link #writeLogitsCase}: a base GGUF, an adapter (GGUF for Fabric, PEFT for peft) and the logits of
 *       Fabric's inference engine ({@link Transformer}) over a token sequence, without and with the adapter
 *       ({@code base_logits.f32}, {@code lora_logits.f32}: little-endian float32, [tokens, vocab]).
 * </ul>
 * Also runnable by hand: {@code HfCases train DIR [qwen3|llama]}, {@code HfCases synth-adapter DIR [qwen3|llama]},
 * {@code HfCases logits DIR BASE.gguf ADAPTER.gguf PEFT_DIR}.
 */
public final class HfCases {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /** The training case's settings (also written to case.json for the Python side). */
    static final int RANK = 4, STEPS = 3, CTX = 12;
    static final double ALPHA = 8, LR = 2e-3, MAX_NORM = 1.0;
    static final AdamW.Config ADAM = new AdamW.Config(0.9, 0.999, 1e-8, 0.01);

    private HfCases() {}

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[1]);
        switch (args[0]) {
            case "train" -> writeTrainingCase(dir, args.length > 2 ? Arch.of(args[2], "argument") : Arch.QWEN3);
            case "synth-adapter" -> writeSyntheticLogitsCase(dir, args.length > 2 ? Arch.of(args[2], "argument") : Arch.QWEN3);
            case "logits" -> writeLogitsCase(dir, Path.of(args[2]), Path.of(args[3]), Path.of(args[4]),
                    tokens(new Rng(3), vocabOf(Path.of(args[2])), 24));
            default -> throw new IllegalArgumentException("train|synth-adapter|logits");
        }
        System.out.println("wrote " + dir);
    }

    /** A project-made tiny model of {@code arch} (SyntheticModels: F32, 2 layers, n_embd 24, GQA 4/2, vocab 50). */
    static Path tinyModel(Path file, Arch arch, long seed) throws Exception {
        Map<String, long[]> shapes = new LinkedHashMap<>();
        Map<String, float[]> w = SyntheticModels.weights(arch, shapes, seed);
        return SyntheticModels.write(file, arch.ggufName(), arch, w, shapes);
    }

    /** LoRA on all seven roles: A as PEFT initialises it (seeded), B drawn nonzero so the first step moves A too. */
    static LoraWeights seededLora(Model m, LoraConfig lc, double bScale) {
        LoraWeights w = LoraWeights.initialise(lc, LoraTarget.select(m.file().tensors(), lc.roles(), "hf-crosscheck"));
        Rng r = new Rng(lc.seed() + 1000);
        for (int k = 0; k < w.targets().size(); k++) {
            FloatBuffer b = w.b(k);
            for (int j = 0; j < b.capacity(); j++) b.put(j, (float) ((2 * r.nextDouble() - 1) * bScale));
        }
        return w;
    }

    /**
     * Issue 11's cross-check: three AdamW steps (constant lr, clipping at {@link #MAX_NORM}, weight decay) of LoRA
     * on all seven roles of a tiny {@code arch} model, over one micro-batch of two sequences whose loss masks
     * differ; the loss is the per-target-token mean over both.
     */
    public static void writeTrainingCase(Path dir, Arch arch) throws Exception {
        Files.createDirectories(dir);
        Path gguf = tinyModel(dir.resolve("model.gguf"), arch, 11);
        LoraConfig lc = new LoraConfig(RANK, ALPHA, 0, false, EnumSet.allOf(LoraRole.class), 5);
        try (CpuBackend be = new CpuBackend(2); Model m = Model.open(gguf, be)) {
            int vocab = m.config().vocabSize();
            LoraWeights lora = seededLora(m, lc, 0.05);
            AdapterBase base = AdapterBase.of(m.file().metadata());
            PeftAdapter.write(dir.resolve("peft_init"), lora, base);

            Rng r = new Rng(21);
            int[][] seqs = {tokens(r, vocab, CTX), tokens(r, vocab, CTX)};
            // mask[s][t]: whether position t's next token is under the loss. Row 0: a "prompt" of 5 tokens and
            // then every target; row 1: a scattered mask (both ends, and a gap in the middle).
            boolean[][] mask = new boolean[2][CTX];
            for (int t = 4; t < CTX - 1; t++) mask[0][t] = true;
            for (int t : new int[] {0, 1, 2, 6, 7, 9, 10}) mask[1][t] = true;
            int[] tok = new int[2 * CTX], tg = new int[2 * CTX], pos = new int[2 * CTX], seg = new int[2 * CTX];
            for (int s = 0; s < 2; s++)
                for (int t = 0; t < CTX; t++) {
                    tok[s * CTX + t] = seqs[s][t];
                    tg[s * CTX + t] = t + 1 < CTX && mask[s][t] ? seqs[s][t + 1] : -1;
                    pos[s * CTX + t] = t;
                }
            TrainingSession.Batch batch = new TrainingSession.Batch(2, CTX, tok, tg, pos, seg);

            List<TrainingSession.LoraTarget> pairs = new ArrayList<>();
            for (int k = 0; k < lora.targets().size(); k++)
                pairs.add(new TrainingSession.LoraTarget(lora.targets().get(k).base(), RANK, (float) lc.scale(), 0f,
                        floats(lora.a(k)), floats(lora.b(k))));
            List<StepRecord> steps = new ArrayList<>();
            try (TrainingSession session = TrainingSession.lora(m.config(), m.weights(), be, pairs,
                    new TrainingSession.Options(false, 64, 1))) {
                BatchSource<TrainingSession.Batch> same = new BatchSource<>() {
                    public TrainingSession.Batch next() {
                        return batch;
                    }

                    public byte[] state() {
                        return new byte[0];
                    }

                    public void restore(byte[] s) {}
                };
                new Trainer<>(new GraphStepModel(session), same, new Trainer.Config(STEPS, 1,
                        new LrSchedule(LrSchedule.Kind.CONSTANT, LR, 0, STEPS), MAX_NORM, ADAM, 1, 1))
                        .run(steps::add);
                for (int k = 0; k < lora.targets().size(); k++) {
                    String w = lora.targets().get(k).base();
                    copy(session.param(w + ".lora_a"), lora.a(k));
                    copy(session.param(w + ".lora_b"), lora.b(k));
                }
            }
            PeftAdapter.write(dir.resolve("peft_final"), lora, base);

            ObjectNode c = JSON.createObjectNode();
            c.put("arch", arch.ggufName()).put("model", "model.gguf").put("steps", STEPS).put("lr", LR)
                    .put("max_grad_norm", MAX_NORM).put("beta1", ADAM.beta1()).put("beta2", ADAM.beta2())
                    .put("eps", ADAM.eps()).put("weight_decay", ADAM.weightDecay()).put("rank", RANK).put("alpha", ALPHA);
            ArrayNode ids = c.putArray("input_ids"), masks = c.putArray("loss_mask");
            for (int s = 0; s < 2; s++) {
                ArrayNode row = ids.addArray(), mrow = masks.addArray();
                for (int t = 0; t < CTX; t++) {
                    row.add(seqs[s][t]);
                    mrow.add(mask[s][t] ? 1 : 0);
                }
            }
            ArrayNode losses = c.putArray("losses"), norms = c.putArray("grad_norms");
            for (StepRecord s : steps) {
                if (s.skipped()) throw new IllegalStateException("step " + s.step() + " was skipped");
                losses.add(s.loss());
                norms.add(s.gradNorm());
            }
            c.put("target_tokens", steps.get(0).tokens());
            JSON.writeValue(dir.resolve("case.json").toFile(), c);
        }
    }

    /** A tiny {@code arch} model, a seeded LoRA on all seven roles (B nonzero) as GGUF and PEFT, and its logits. */
    public static void writeSyntheticLogitsCase(Path dir, Arch arch) throws Exception {
        Files.createDirectories(dir);
        Path gguf = tinyModel(dir.resolve("model.gguf"), arch, 12);
        LoraConfig lc = new LoraConfig(RANK, ALPHA, 0, false, EnumSet.allOf(LoraRole.class), 6);
        try (CpuBackend be = new CpuBackend(2); Model m = Model.open(gguf, be)) {
            LoraWeights lora = seededLora(m, lc, 0.2);
            GgufLoraWriter.write(dir.resolve("adapter.gguf"), lora, arch.ggufName());
            PeftAdapter.write(dir.resolve("peft"), lora, AdapterBase.of(m.file().metadata()));
        }
        writeLogitsCase(dir, gguf, dir.resolve("adapter.gguf"), dir.resolve("peft"), tokens(new Rng(4), SyntheticModels.VOCAB, 20));
    }

    /**
     * Logits of Fabric's inference engine over {@code tokens} (positions 0..), without and with the adapter at
     * scale 1 (F32 KV cache), and case.json naming the files.
     */
    public static void writeLogitsCase(Path dir, Path base, Path adapterGguf, Path peft, int[] tokens) throws Exception {
        Files.createDirectories(dir);
        int vocab;
        try (CpuBackend be = new CpuBackend(2); Model m = Model.open(base, be);
                LoraAdapter lora = LoraAdapter.load(adapterGguf, be)) {
            vocab = m.config().vocabSize();
            // An F32 KV cache: Fabric's default F16 cache (llama.cpp's) rounds K and V to 11 significant bits, which
            // alone moves the logits by ~1e-3 relative; torch keeps them in float32.
            try (Transformer t = new Transformer(m.config(), m.weights(), be, tokens.length, DType.F32, List.of())) {
                writeFloats(dir.resolve("base_logits.f32"), t.forward(tokens, 0, false));
            }
            try (Transformer t = new Transformer(m.config(), m.weights(), be, tokens.length, DType.F32,
                    List.of(new Transformer.AppliedLora(lora, 1f)))) {
                writeFloats(dir.resolve("lora_logits.f32"), t.forward(tokens, 0, false));
            }
        }
        ObjectNode c = JSON.createObjectNode();
        c.put("model", base.toAbsolutePath().toString()).put("peft", peft.toAbsolutePath().toString())
                .put("vocab", vocab);
        ArrayNode ids = c.putArray("input_ids");
        for (int t : tokens) ids.add(t);
        JSON.writeValue(dir.resolve("case.json").toFile(), c);
    }

    static int[] tokens(Rng r, int vocab, int n) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) t[i] = (int) (r.nextDouble() * vocab);
        return t;
    }

    private static int vocabOf(Path gguf) throws IOException {
        try (CpuBackend be = new CpuBackend(1); Model m = Model.open(gguf, be)) {
            return m.config().vocabSize();
        }
    }

    private static void writeFloats(Path file, float[] v) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(v);
        Files.write(file, b.array());
    }

    private static void copy(Param p, FloatBuffer dst) {
        FloatBuffer src = p.values();
        for (int i = 0, n = dst.capacity(); i < n; i++) dst.put(i, src.get(i));
    }

    private static float[] floats(FloatBuffer b) {
        float[] x = new float[b.capacity()];
        b.get(0, x);
        return x;
    }
}
