package dev.fabric.basemodel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fabric.backend.cpu.CpuBackend;
import dev.fabric.gguf.GgufFile;
import dev.fabric.model.Arch;
import dev.fabric.model.ModelConfig;
import dev.fabric.train.StepRecord;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BaseModelTrainerTest {
    @TempDir Path dir;

    @Test
    void pretraining_lowersTheLossAndWritesALoadableModel() throws Exception {
        var spec = new BaseModelTrainer.Spec(Arch.QWEN3, 32, 2, 4, 2, 8, 64, 320, 32, 400, 3, 80, 4, 3e-3, 8);
        List<StepRecord> steps = new ArrayList<>();
        Path out = dir.resolve("base.gguf");
        ModelConfig c;
        try (CpuBackend be = new CpuBackend(2)) {
            c = BaseModelTrainer.train(spec, be, out, steps::add);
        }
        assertEquals(80, steps.size());
        double first = steps.get(0).loss(), last = 0;
        for (int i = steps.size() - 10; i < steps.size(); i++) last += steps.get(i).loss() / 10;
        // Uniform over the vocabulary is ln(320) = 5.77; a model that learned the corpus's frequent tokens and
        // the chat layout is well below that.
        assertTrue(first > 5.0, "first loss " + first);
        assertTrue(last < first - 1.5, "loss " + first + " -> " + last);
        try (GgufFile g = GgufFile.open(out)) {
            assertEquals(c, ModelConfig.fromGguf(g));
        }
    }
}
