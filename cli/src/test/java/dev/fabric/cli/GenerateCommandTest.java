package dev.fabric.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fabric.testing.SharedRef;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code fabric generate}: llama-simple's greedy output, reproducible sampling, chat, and the errors users meet. */
class GenerateCommandTest {
    @TempDir
    Path dir;

    private static JsonNode expected() throws Exception {
        return new ObjectMapper().readTree(SharedRef.require("engine/expected.json").toFile());
    }

    private static String stories() {
        return SharedRef.require("engine/stories260K.gguf").toString();
    }

    @Test
    void greedy_stories260K_printsLlamaSimplesOutput() throws Exception {
        Run r = Run.of("generate", "-m", stories(), "-p", "Once upon a time", "-n", "64", "--temp", "0");
        assertEquals(0, r.rc(), r.err());
        assertEquals(expected().get("stories260K").get("greedy_llama_simple_64").asText(), r.out());
        assertTrue(r.err().contains("memory: KV cache"), r.err());
        assertTrue(r.err().contains("tokens/s"), r.err());
    }

    @Test
    void greedy_qwen3Parity_printsLlamaSimplesOutput() throws Exception {
        Run r = Run.of("generate", "-m", SharedRef.require("engine/qwen3-spm-parity-f16.gguf").toString(), "-p",
                "The patient was admitted with", "-n", "24", "--temp", "0");
        assertEquals(0, r.rc(), r.err());
        assertEquals(expected().get("greedy").get("output").asText(), r.out());
    }

    @Test
    void sampling_isReproducibleBySeed() {
        Run a = Run.of("generate", "-m", stories(), "-p", "Once upon a time", "-n", "40", "--seed", "7");
        Run b = Run.of("generate", "-m", stories(), "-p", "Once upon a time", "-n", "40", "--seed", "7");
        Run c = Run.of("generate", "-m", stories(), "-p", "Once upon a time", "-n", "40", "--seed", "8", "--temp", "1.5",
                "--top-k", "0", "--top-p", "1", "--min-p", "0");
        assertEquals(0, a.rc(), a.err());
        assertEquals(a.out(), b.out());
        assertNotEquals(a.out(), c.out());
        assertTrue(a.out().startsWith("<s> Once upon a time"), a.out());
    }

    @Test
    void promptLongerThanContext_namesBothNumbers() {
        Run r = Run.of("generate", "-m", stories(), "-p", "Once upon a time there was a cat", "--ctx", "4");
        assertEquals(2, r.rc());
        assertTrue(r.err().contains("tokens but the context holds 4"), r.err());
    }

    @Test
    void adapterForAnotherModel_isAClearError() {
        Run r = Run.of("generate", "-m", stories(), "--lora",
                SharedRef.require("engine/qwen3-spm-parity-lora.gguf").toString(), "-p", "Hi", "-n", "2");
        assertEquals(3, r.rc(), r.err());
        assertTrue(r.err().contains("qwen3-spm-parity-lora.gguf") && r.err().contains("adapter"), r.err());
        // same architecture, other shapes: the first weight that does not fit is named
        Run q = Run.of("generate", "-m", SharedRef.require("models/qwen3-micro-f16.gguf").toString(), "--lora",
                SharedRef.require("engine/qwen3-spm-parity-lora.gguf").toString(), "-p", "Hi", "-n", "2");
        assertEquals(3, q.rc(), q.err());
        assertTrue(q.err().contains("do not fit the weight"), q.err());
    }

    @Test
    void unsupportedArchitecture_andNotGguf_areClearErrors() throws Exception {
        Path notGguf = dir.resolve("model.gguf");
        Files.writeString(notGguf, "this is not a GGUF file at all");
        Run r = Run.of("generate", "-m", notGguf.toString(), "-p", "Hi");
        assertEquals(3, r.rc(), r.err());
        assertTrue(r.err().contains("GGUF") || r.err().contains("magic"), r.err());

        // a vocabulary-only GGUF of a BPE vocab: arch gpt2, which the engine does not run
        Run v = Run.of("generate", "-m", SharedRef.require("models/ggml-vocab-gpt-2.gguf").toString(), "-p", "Hi");
        assertEquals(3, v.rc(), v.err());
        assertTrue(v.err().contains("'gpt2' is not supported"), v.err());
    }

    /** The prompt evaluated is the model's template rendered for one user turn plus the generation prompt. */
    @Test
    void chat_rendersTheTemplate() throws Exception {
        Path model = SharedRef.require("models/qwen3-micro-f16.gguf");
        int want;
        try (var f = dev.fabric.gguf.GgufFile.open(model)) {
            var tok = dev.fabric.tokenizer.Tokenizer.fromGguf(f.metadata());
            String text = dev.fabric.template.ChatTemplate.fromGguf(f.metadata()).render(
                    java.util.List.of(dev.fabric.template.ChatMessage.user("Hello")), true, java.util.Map.of());
            assertTrue(text.contains("<|im_start|>user\nHello<|im_end|>") && text.endsWith("<|im_start|>assistant\n"), text);
            want = tok.encode(text, false, true).length;
        }
        Run r = Run.of("generate", "-m", model.toString(), "--chat", "-p", "Hello", "-n", "3", "--temp", "0");
        assertEquals(0, r.rc(), r.err());
        assertTrue(r.err().contains("prompt: " + want + " tokens"), want + "\n" + r.err());
    }

    /** Interactive --chat: the second turn reuses the cache for the conversation so far. */
    @Test
    void chat_interactive_reusesTheCache() {
        java.io.InputStream old = System.in;
        System.setIn(new java.io.ByteArrayInputStream("Hello\nAnd again\n\n".getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        try {
            Run r = Run.of("generate", "-m", SharedRef.require("models/qwen3-micro-f16.gguf").toString(), "--chat",
                    "-n", "4", "--temp", "0");
            assertEquals(0, r.rc(), r.err());
            var turns = java.util.regex.Pattern.compile("prompt: (\\d+) tokens \\((\\d+) from the cache\\)").matcher(r.err());
            assertTrue(turns.find(), r.err());
            int first = Integer.parseInt(turns.group(1));
            assertEquals("0", turns.group(2));
            assertTrue(turns.find(), r.err());
            int reused = Integer.parseInt(turns.group(2));
            assertTrue(reused > first / 2 && reused < Integer.parseInt(turns.group(1)), r.err());
        } finally {
            System.setIn(old);
        }
    }
}
