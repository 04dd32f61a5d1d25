package dev.fabric.tokenizer;

import dev.fabric.gguf.GgufFile;
import dev.fabric.testing.SharedRef;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** The reference vocabularies (../shared/ref/models/ggml-vocab-NAME.gguf), loaded once per test JVM. */
final class RefVocabs {
    static final String[] NAMES = {"qwen3", "llama-spm", "gpt-2", "deepseek-llm"};
    private static final Map<String, Tokenizer> LOADED = new ConcurrentHashMap<>();

    private RefVocabs() {}

    static Path path(String name) {
        return SharedRef.require("models/ggml-vocab-" + name + ".gguf");
    }

    static Tokenizer tokenizer(String name) {
        Path p = path(name);
        return LOADED.computeIfAbsent(name, n -> {
            try (GgufFile f = GgufFile.open(p)) {
                return Tokenizer.fromGguf(f.metadata());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }
}
