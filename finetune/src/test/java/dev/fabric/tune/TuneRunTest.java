package dev.fabric.tune;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fabric.backend.cpu.CpuBackend;
import dev.fabric.basemodel.BaseModelTrainer;
import dev.fabric.basemodel.Corpus;
import dev.fabric.lora.LoraAdapter;
import dev.fabric.model.Arch;
import dev.fabric.recipe.Recipe;
import dev.fabric.recipe.RecipeLoader;
import java.io.PrintStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** fabric tune's run on a small model Fabric pretrains itself (a few seconds), on the quickstart's data. */
class TuneRunTest {
    @TempDir static Path dir;
    static Path model;

    @BeforeAll
    static void baseModel() throws Exception {
        model = dir.resolve("base.gguf");
        var spec = new BaseModelTrainer.Spec(Arch.QWEN3, 32, 2, 4, 2, 8, 64, 320, 64, 400, 3, 30, 4, 3e-3, 4);
        try (CpuBackend be = new CpuBackend(2)) {
            BaseModelTrainer.train(spec, be, model, r -> {});
        }
        Files.write(dir.resolve("train.jsonl"), Corpus.quickstartTrain().subList(0, 24));
        Files.write(dir.resolve("valid.jsonl"), Corpus.quickstartHeldOut().subList(0, 8));
        Files.write(dir.resolve("seen.jsonl"), Corpus.quickstartTrain().subList(0, 8));
    }

    private static Recipe recipe(String name, String... sets) throws Exception {
        Path r = dir.resolve(name + ".yaml");
        Files.writeString(r, """
                model: base.gguf
                data: {train: train.jsonl, valid: valid.jsonl}
                lora: {rank: 4, alpha: 8, dropout: 0.1, targets: [all]}
                train: {steps: 6, lr: 0.01, context: 64, batch: 4, pack: true, checkpointing: false}
                eval: {every: 3}
                checkpoint: {every: 3}
                seed: 5
                output: %s
                """.formatted(name));
        return RecipeLoader.load(r, List.of(sets));
    }

    private static final PrintStream QUIET = new PrintStream(OutputStream.nullOutputStream());

    @Test
    void training_lowersTheValidationLoss_andWritesAdaptersThatLoad() throws Exception {
        // Validated on rows it trains on: the loss there must fall (held-out phrasings are the quickstart's
        // business, on a properly pretrained model). This base has seen 30 updates, so a LoRA over it learns
        // slowly (0.07 nats in 40 steps here); the run is deterministic, so the margin is not a matter of luck.
        Recipe r = recipe("plain", "train.steps=40", "data.valid=seen.jsonl");
        TuneRun.Result res;
        try (CpuBackend be = new CpuBackend(2)) {
            res = new TuneRun(r, be, new TuneRun.Options(false, QUIET, s -> {})).run();
            assertEquals(40, res.updates());
            assertTrue(res.bestValidLoss() < res.firstValidLoss() - 0.03, res.firstValidLoss() + " -> " + res.bestValidLoss());
            try (LoraAdapter a = LoraAdapter.load(res.adapter(), be)) {
                assertEquals(2 * 7, a.pairs().size());
            }
        }
        assertTrue(Files.isRegularFile(res.peft().resolve("adapter_model.safetensors")));
        assertTrue(Files.isRegularFile(res.peft().resolve("adapter_config.json")));
        assertEquals(40, Files.readAllLines(r.output().resolve("metrics.jsonl")).size());
    }

    @Test
    void aPlanOverTheMemoryBudget_isRefusedBeforeAnyStep() throws Exception {
        Recipe r = recipe("tight", "memory=1MiB");
        try (CpuBackend be = new CpuBackend(2)) {
            var e = assertThrows(dev.fabric.FabricException.class,
                    () -> new TuneRun(r, be, new TuneRun.Options(false, QUIET, s -> {})).run());
            assertEquals(dev.fabric.FabricException.EXIT_INPUT, e.exitCode());
            assertTrue(e.getMessage().contains("budget is 1 MiB") && e.getMessage().contains("train.batch 2"), e.getMessage());
        }
        assertTrue(!Files.exists(r.output().resolve("adapter.gguf")));
        assertTrue(!Files.exists(r.output().resolve("metrics.jsonl")));
    }

    @Test
    void resumeAfterAnInterruption_endsWithTheBytesOfAnUninterruptedRun() throws Exception {
        Recipe whole = recipe("whole");
        Recipe cut = recipe("cut");
        try (CpuBackend be = new CpuBackend(2)) {
            new TuneRun(whole, be, new TuneRun.Options(false, QUIET, s -> {})).run();
            // Stop the second run right after step 4 (its checkpoint is at 3): as a kill would.
            RuntimeException kill = new RuntimeException("killed");
            assertThrows(RuntimeException.class, () -> new TuneRun(cut, be, new TuneRun.Options(false, QUIET, s -> {
                if (s.update() == 4) throw kill;
            })).run());
            assertTrue(Files.isDirectory(cut.output().resolve("checkpoints/stage-0/checkpoint-3")));
            new TuneRun(cut, be, new TuneRun.Options(true, QUIET, s -> {})).run();
        }
        assertArrayEquals(Files.readAllBytes(whole.output().resolve("adapter.gguf")),
                Files.readAllBytes(cut.output().resolve("adapter.gguf")));
    }
}
