package dev.fabric.cli;

import dev.fabric.backend.Backend;
import dev.fabric.backend.Backends;
import dev.fabric.basemodel.BaseModelTrainer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code fabric base-model}: regenerates Fabric's own small base model from its recipe (seeded, no downloads). */
@Command(name = "base-model", mixinStandardHelpOptions = true,
        description = {"Make Fabric's own small base model from nothing but a seed: generate the corpus (invented",
            "wards and medicines, asked and answered), learn a byte-level BPE vocabulary on it, and pretrain every",
            "weight with AdamW. The shipped recipes/models/fabric-base.gguf was made by this command from",
            "recipes/base-model.yaml."},
        footer = {"", "Example:", "  fabric base-model recipes/base-model.yaml -o fabric-base.gguf"})
public final class BaseModelCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "SPEC.yaml", description = "The model's recipe (shape, corpus, training).")
    Path spec;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "OUT.gguf", description = "Where to write the model.")
    Path out;

    @Option(names = {"-t", "--threads"}, description = "CPU threads (default: all cores; results do not depend on it).")
    int threads = Runtime.getRuntime().availableProcessors();

    @Override
    public Integer call() throws Exception {
        BaseModelTrainer.Spec s = BaseModelTrainer.load(spec);
        Path dir = out.toAbsolutePath().getParent();
        if (dir != null) Files.createDirectories(dir);
        long t0 = System.nanoTime();
        try (Backend be = Backends.open(threads)) {
            var c = BaseModelTrainer.train(s, be, out, r -> {
                if (r.update() == 1 || r.update() % 25 == 0)
                    System.err.printf("update %d/%d  loss %.4f  lr %.3g  %.0f tok/s  %.0f s%n", r.update(), s.updates(),
                            r.loss(), r.lr(), r.tokensPerSecond(), (System.nanoTime() - t0) / 1e9);
            });
            System.out.printf("wrote %s: %s, %d layers x %d, vocabulary %d, in %.0f s%n", out, c.arch().ggufName(),
                    c.nLayer(), c.nEmbd(), c.vocabSize(), (System.nanoTime() - t0) / 1e9);
        }
        return 0;
    }
}
