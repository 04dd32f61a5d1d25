package dev.fabric.model;

import dev.fabric.backend.Backend;
import dev.fabric.backend.DType;
import dev.fabric.gguf.GgufFile;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * A model opened from GGUF: its file (kept mapped), configuration and weight views. Sessions
 * ({@link #newSession}) add a KV cache and optional LoRA adapters.
 */
public final class Model implements AutoCloseable {
    private final GgufFile file;
    private final ModelConfig config;
    private final ModelWeights weights;
    private final Backend backend;

    private Model(GgufFile file, ModelConfig config, ModelWeights weights, Backend backend) {
        this.file = file;
        this.config = config;
        this.weights = weights;
        this.backend = backend;
    }

    public static Model open(Path path, Backend backend) throws IOException {
        GgufFile file = GgufFile.open(path);
        try {
            ModelConfig config = ModelConfig.fromGguf(file);
            return new Model(file, config, ModelWeights.load(file, config, backend), backend);
        } catch (RuntimeException e) {
            file.close();
            throw e;
        }
    }

    public GgufFile file() {
        return file;
    }

    public ModelConfig config() {
        return config;
    }

    public ModelWeights weights() {
        return weights;
    }

    public Backend backend() {
        return backend;
    }

    /** A forward pass with an F16 KV cache of nCtx positions (llama.cpp's default cache type). */
    public Transformer newSession(int nCtx, List<Transformer.AppliedLora> loras) {
        return new Transformer(config, weights, backend, nCtx, DType.F16, loras);
    }

    @Override
    public void close() {
        file.close();
    }
}
