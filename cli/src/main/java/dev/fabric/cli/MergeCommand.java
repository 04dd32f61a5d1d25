package dev.fabric.cli;

import dev.fabric.backend.Backend;
import dev.fabric.backend.Backends;
import dev.fabric.gguf.GgmlType;
import dev.fabric.lora.LoraMerge;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code fabric merge}: a LoRA adapter folded into its base model. */
@Command(name = "merge", mixinStandardHelpOptions = true,
        description = {"Fold a LoRA adapter into its base model (W + s·B·A, s = scale · alpha / r, as llama.cpp's",
            "export-lora): adapted weights are written in --type, every other tensor is copied. The result loads",
            "anywhere a model does and is the input of fabric quantize."},
        footer = {"", "Example:",
            "  fabric merge -m base-f16.gguf --lora out/adapter.gguf -o merged-f16.gguf",
            "  fabric quantize merged-f16.gguf merged-Q4_K_M.gguf Q4_K_M"})
public final class MergeCommand implements Callable<Integer> {
    @Option(names = {"-m", "--model"}, required = true, paramLabel = "BASE.gguf", description = "The base model (F32, F16 or BF16).")
    Path model;

    @Option(names = "--lora", required = true, paramLabel = "ADAPTER.gguf", description = "The adapter (llama.cpp's LoRA GGUF).")
    Path lora;

    @Option(names = "--lora-scale", paramLabel = "S", description = "User scale of the adapter (default: 1).")
    float scale = 1f;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "MERGED.gguf", description = "Where to write the merged model.")
    Path out;

    @Option(names = "--type", paramLabel = "f16|bf16|f32", description = "Type of the merged weights (default: f16).")
    String type = "f16";

    @Option(names = {"-t", "--threads"}, description = "Threads (default: all cores).")
    int threads = 0;

    @Override
    public Integer call() throws Exception {
        GgmlType t = switch (type.toLowerCase(Locale.ROOT)) {
            case "f16" -> GgmlType.F16;
            case "bf16" -> GgmlType.BF16;
            case "f32" -> GgmlType.F32;
            default -> throw Limits.usage("--type must be f16, bf16 or f32, got '" + type + "'");
        };
        Limits.threads(threads, "--threads");
        try (Backend be = Backends.open(threads)) {
            LoraMerge.Result r = LoraMerge.merge(model, lora, scale, t, out, be);
            System.out.printf("wrote %s: %d weights merged (%s), every other tensor copied%n", out, r.merged(), type);
        }
        return 0;
    }
}
