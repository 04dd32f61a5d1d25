package dev.fabric.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;

/** Options shared by the commands that run a model: the model, adapters, threads. */
final class ModelOptions {
    @Option(names = {"-m", "--model"}, required = true, paramLabel = "MODEL.gguf",
            description = "GGUF model (arch llama, qwen2 or qwen3; any supported weight type).")
    Path model;

    @Option(names = "--lora", paramLabel = "ADAPTER.gguf",
            description = "LoRA adapter in llama.cpp's GGUF format (repeatable), applied at --lora-scale.")
    List<Path> loras = new ArrayList<>();

    @Option(names = "--lora-scale", paramLabel = "S", defaultValue = "1.0",
            description = "Scale of every --lora adapter (default: ${DEFAULT-VALUE}).")
    float loraScale;

    @Option(names = "--backend", paramLabel = "NAME",
            description = "Backend that runs the ops (default: $FABRIC_BACKEND, else cpu); see fabric --version for the registered ones.")
    String backend;

    @Option(names = {"-t", "--threads"}, paramLabel = "N", defaultValue = "0",
            description = "Threads per op, at most 4 per core (default: all cores).")
    int threads;

    @Option(names = "--ctx-beyond-training",
            description = "Allow a context longer than the model was trained on (its n_ctx_train); output degrades.")
    boolean ctxBeyondTraining;
}
