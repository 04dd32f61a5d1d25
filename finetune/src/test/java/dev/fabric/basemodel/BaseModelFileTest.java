package dev.fabric.basemodel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fabric.backend.cpu.CpuBackend;
import dev.fabric.gguf.GgufFile;
import dev.fabric.model.Arch;
import dev.fabric.model.Model;
import dev.fabric.model.ModelConfig;
import dev.fabric.model.Transformer;
import dev.fabric.template.ChatMessage;
import dev.fabric.template.ChatTemplate;
import dev.fabric.tokenizer.BpeTrainer;
import dev.fabric.tokenizer.Tokenizer;
import dev.fabric.tokenizer.Vocabulary;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BaseModelFileTest {
    @TempDir Path dir;

    @Test
    void writtenModel_loadsWithItsVocabularyAndTemplate_andRuns() throws Exception {
        List<String> corpus = Corpus.pretraining(1, 400);
        Vocabulary v = BpeTrainer.train(corpus, "qwen2", 320,
                List.of("<|endoftext|>", "<|im_start|>", "<|im_end|>"), "<|endoftext|>").vocabulary();
        ModelConfig c = new ModelConfig(Arch.QWEN3, 32, 2, 4, 2, 8, 64, 1e-6f, 10000f, 8, v.size(), true, 256);
        Map<String, float[]> w = BaseModelFile.initialWeights(c, 9);
        Path file = dir.resolve("base.gguf");
        BaseModelFile.write(file, c, v, "fabric test base", w);

        try (GgufFile g = GgufFile.open(file)) {
            assertEquals(c, ModelConfig.fromGguf(g));
            Tokenizer tok = Tokenizer.fromGguf(g.metadata());
            String text = ChatTemplate.fromGguf(g.metadata()).render(
                    List.of(new ChatMessage("user", "Where is Cedar ward?")), true, Map.of());
            assertEquals("<|im_start|>user\nWhere is Cedar ward?<|im_end|>\n<|im_start|>assistant\n", text);
            int[] ids = tok.encode(text, false, true);
            assertEquals(v.tokens().indexOf("<|im_start|>"), ids[0]);
            assertEquals(text, tok.decode(ids, true));
        }
        try (CpuBackend be = new CpuBackend(1); Model m = Model.open(file, be);
                Transformer t = m.newSession(64, List.of())) {
            float[] logits = t.forward(new int[] {1, 2, 3}, 0, true);
            assertEquals(v.size(), logits.length);
            for (float x : logits) assertTrue(Float.isFinite(x));
        }
    }
}
