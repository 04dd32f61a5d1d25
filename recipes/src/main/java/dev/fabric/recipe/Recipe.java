package dev.fabric.recipe;

import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Locale;
import java.util.Objects;

/**
 * A validated fine-tuning recipe ({@link RecipeLoader} reads it from YAML). Immutable; every path is resolved
 * against the recipe file's folder. {@link RecipeSchema} documents each field and its default.
 *
 * @param file       the recipe file (null for a recipe made only of defaults and --set)
 * @param model      the base model GGUF
 * @param template   the chat template: null = the model's own; a built-in name; or a .jinja file (see
 *                   {@link #templateFile()})
 * @param data       top-level data (stages inherit it)
 * @param stages     the curriculum: at least one stage; a recipe without {@code stages} has one, named
 *                   {@code main}, made of the top-level data and train fields
 * @param values     every top-level field's effective value by dotted key, as written (paths unresolved);
 *                   what {@code --print-recipe} prints
 * @param stageValues each explicit stage's effective values by stage key (empty without {@code stages})
 * @param hash       SHA-256 (hex) of {@code canonical}
 * @param canonical  the canonical form of the fields that decide what is trained (one {@code key=value} per
 *                   line, see {@link RecipeSchema} for which fields count)
 */
public record Recipe(Path file, Path model, String template, Path templateFile, Data data, Lora lora, Train train,
        Eval eval, Checkpoint checkpoint, long seed, int threads, Long memoryBytes, Path output, List<Stage> stages,
        boolean explicitStages, Map<String, Object> values, List<Map<String, Object>> stageValues, String hash,
        String canonical) {

    public Recipe {
        Objects.requireNonNull(model, "model");
        stages = List.copyOf(stages);
        if (stages.isEmpty()) throw new IllegalArgumentException("a recipe has at least one stage");
        values = Collections.unmodifiableMap(new LinkedHashMap<>(values));
        stageValues = stageValues.stream().map(m -> Collections.unmodifiableMap(new LinkedHashMap<>(m))).toList();
    }

    /** The first 12 hex digits of {@link #hash()}, as outputs and logs show it. */
    public String shortHash() {
        return hash.substring(0, 12);
    }

    /** Row formats of the data files. AUTO: detected from each file's first row. */
    public enum Format {
        AUTO, MESSAGES, SHAREGPT, ALPACA, TEXT;

        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    public enum Schedule { CONSTANT, LINEAR, COSINE }

    /** What to do with a row longer than the context. */
    public enum Overlong { DROP, TRUNCATE }

    /**
     * @param train         training files, in order (at least one)
     * @param valid         validation file, or null
     * @param validFraction share of training rows held out when {@code valid} is null
     * @param thinking      Qwen3's {@code enable_thinking}: null to leave it unset, else its value
     * @param splitTurns    one example per assistant reply instead of one per conversation
     * @param maxMalformed  share of malformed rows tolerated (skipped and reported) before the run stops
     */
    public record Data(List<Path> train, Path valid, double validFraction, Format format, Overlong overlong,
            Boolean thinking, boolean splitTurns, double maxMalformed) {
        public Data {
            train = List.copyOf(train);
        }
    }

    public record Lora(int rank, double alpha, double dropout, List<String> targets, boolean rslora) {
        public Lora {
            targets = List.copyOf(targets);
        }

        /** The factor on B·A: alpha/r, or alpha/sqrt(r) with rsLoRA (Kalajdzievski 2023). */
        public double scale() {
            return rslora ? alpha / Math.sqrt(rank) : alpha / rank;
        }
    }

    /**
     * @param steps  optimizer steps, or null to run {@code epochs}
     * @param warmup a share of the steps if below 1, else a number of steps
     */
    public record Train(Integer steps, double epochs, double lr, Schedule schedule, double warmup, int context,
            int batch, int accumulate, boolean pack, boolean checkpointing, double weightDecay, double gradClip) {

        /** Warmup steps for a run of {@code totalSteps}. */
        public long warmupSteps(long totalSteps) {
            return warmup < 1 ? Math.round(warmup * totalSteps) : (long) warmup;
        }
    }

    /** @param questions held-out questions for the exact-match check after training, or null */
    public record Eval(int every, Path questions) {}

    public record Checkpoint(int every, int keep) {}

    /**
     * One stage of the curriculum; stages run in order and continue training the same adapter. Its fields are
     * the effective ones (a stage's own value, else the top level's).
     */
    public record Stage(String name, Data data, Integer steps, double epochs, double lr, Schedule schedule,
            double warmup) {}
}
