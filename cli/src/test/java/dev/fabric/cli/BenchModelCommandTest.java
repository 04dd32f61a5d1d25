package dev.fabric.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fabric.backend.cpu.CpuBackend;
import dev.fabric.gguf.GgmlType;
import dev.fabric.gguf.GgufFile;
import dev.fabric.model.Model;
import dev.fabric.model.ModelConfig;
import dev.fabric.testing.SharedRef;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code fabric bench model} on a 2-layer Qwen3-0.6B-shaped model: the written GGUF loads with the right
 * hyperparameters, vocabulary and types, and both the file and the in-memory bench print pp and tg figures.
 */
class BenchModelCommandTest {
    @TempDir
    Path dir;

    @Test
    void writeSynth_f16AndQ4KM_loadAndBench() throws Exception {
        // the llama-spm vocabulary (32000 tokens) keeps the file small; the Qwen3 one (151936) goes the same way
        Path vocab = SharedRef.require("models/ggml-vocab-llama-spm.gguf");
        Path f16 = dir.resolve("s-f16.gguf"), q4 = dir.resolve("s-q4km.gguf");
        Run w = Run.of("bench", "model", "--synth", "qwen3-0.6b", "--layers", "2", "--write-synth", f16.toString(),
                "--vocab", vocab.toString());
        assertEquals(0, w.rc(), w.err());
        Run wq = Run.of("bench", "model", "--synth", "qwen3-0.6b", "--layers", "2", "--write-synth", q4.toString(),
                "--vocab", vocab.toString(), "--type", "Q4_K_M", "-t", "2");
        assertEquals(0, wq.rc(), wq.err());
        try (Model m = Model.open(f16, new CpuBackend(1)); GgufFile v = GgufFile.open(vocab)) {
            ModelConfig c = m.config();
            assertEquals(1024, c.nEmbd());
            assertEquals(2, c.nLayer());
            assertEquals(16, c.nHead());
            assertEquals(8, c.nHeadKv());
            assertEquals(128, c.headDim());
            assertEquals(3072, c.nFf());
            assertTrue(c.tiedOutput());
            assertEquals(v.metadata().getStringArray("tokenizer.ggml.tokens"),
                    m.file().metadata().getStringArray("tokenizer.ggml.tokens"));
            assertEquals(v.metadata().getString("tokenizer.ggml.model"), m.file().metadata().getString("tokenizer.ggml.model"));
            assertEquals(32000, c.vocabSize());
        }
        try (GgufFile g = GgufFile.open(q4)) {
            assertEquals(GgmlType.Q4_K, g.tensor("blk.0.attn_q.weight").type());
            assertEquals(15, g.metadata().getInt("general.file_type"));
        }
        Run b = Run.of("bench", "model", "-m", f16.toString(), "-p", "16", "-n", "2", "-t", "2");
        assertEquals(0, b.rc(), b.err());
        assertTrue(b.out().contains("kernel variant") && b.out().contains("pp16:") && b.out().contains("tg2:"), b.out());
    }

    @Test
    void synthInMemory_printsPpAndTg() {
        Run b = Run.of("bench", "model", "--synth", "qwen3-0.6b", "--layers", "1", "-p", "8", "-n", "2", "-t", "2");
        assertEquals(0, b.rc(), b.err());
        assertTrue(b.out().contains("pp8:") && b.out().contains("tg2:") && b.out().contains("threads: 2"), b.out());
    }
}
