package dev.fabric.recipe;

import static dev.fabric.recipe.Field.Kind.BOOL;
import static dev.fabric.recipe.Field.Kind.ENUM;
import static dev.fabric.recipe.Field.Kind.ENUM_LIST;
import static dev.fabric.recipe.Field.Kind.INT;
import static dev.fabric.recipe.Field.Kind.NUMBER;
import static dev.fabric.recipe.Field.Kind.PATH;
import static dev.fabric.recipe.Field.Kind.PATHS;
import static dev.fabric.recipe.Field.Kind.SIZE;
import static dev.fabric.recipe.Field.Kind.STRING;

import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Every recipe field, its default and its one-line documentation, in one place. The loader validates against
 * it, {@code fabric tune --print-recipe} prints it, and the hash reads its {@link Field#hashed()} flags.
 *
 * <p>The hash covers what decides the trained adapter: model, template, data, lora, train and seed, and the
 * stages. It leaves out what only decides where and how fast the run goes or what it reports: threads,
 * memory, output, eval.*, checkpoint.*.
 */
public final class RecipeSchema {
    private RecipeSchema() {}

    /** The LoRA target modules, named as llama.cpp names the base tensors ({@code blk.N.attn_q.weight}). */
    public static final List<String> LORA_TARGETS =
            List.of("attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down");

    /** Top-level fields in print order. */
    public static final List<Field> FIELDS = List.of(
            Field.of("model", PATH, null, "the base model: a GGUF file (path relative to this recipe); required"),
            Field.of("template", STRING, null, "chat template: unset = the model's own (GGUF tokenizer.chat_template);"
                    + " or a built-in name (chatml, qwen3, llama3, gemma), or a .jinja file"),
            Field.of("data.train", PATHS, null, "training data: a file or a list of files (.jsonl, .json, .arrow, .txt);"
                    + " required unless every stage names its own"),
            Field.of("data.valid", PATH, null, "validation data file; unset = hold out data.valid_fraction of data.train"),
            Field.of("data.valid_fraction", NUMBER, 0.0, "share of data.train rows held out for validation when"
                    + " data.valid is unset (chosen with the seed)").range(0, 0.5),
            Field.of("data.format", ENUM, "auto", "row format: auto (detected per file), messages (OpenAI),"
                    + " sharegpt, alpaca or text").choices("auto", "messages", "sharegpt", "alpaca", "text"),
            Field.of("data.overlong", ENUM, "drop", "rows longer than train.context: drop them, or truncate them"
                    + " to the context (both counted in the report)").choices("drop", "truncate"),
            Field.of("data.thinking", ENUM, "auto", "the template's enable_thinking variable (Qwen3): auto leaves it"
                    + " unset, on/off set it true/false").choices("auto", "on", "off"),
            Field.of("data.split_turns", BOOL, false, "one example per assistant reply (the conversation up to it), so"
                    + " templates that drop earlier turns' reasoning (Qwen3) still train every reasoning block"),
            Field.of("data.max_malformed", NUMBER, 0.01, "share of malformed rows skipped (and reported) before the"
                    + " run stops with their list").range(0, 1),
            Field.of("lora.rank", INT, 16L, "LoRA rank r").range(1, 4096),
            Field.of("lora.alpha", NUMBER, 32.0, "LoRA alpha: the update is scaled by alpha/r (alpha/sqrt(r) with"
                    + " rslora)").above(0, 1e6),
            Field.of("lora.dropout", NUMBER, 0.0, "dropout on the LoRA input, in [0, 1)").range(0, 0.999),
            Field.of("lora.targets", ENUM_LIST, LORA_TARGETS, "base matrices that get an adapter")
                    .choices(LORA_TARGETS.toArray(String[]::new)),
            Field.of("lora.rslora", BOOL, false, "rank-stabilised scaling alpha/sqrt(r) instead of alpha/r"),
            Field.of("train.steps", INT, null, "optimizer steps; unset = run train.epochs").range(1, 1e9),
            Field.of("train.epochs", NUMBER, 1.0, "passes over the training data (used when train.steps is unset;"
                    + " may be fractional)").above(0, 1e6),
            Field.of("train.lr", NUMBER, 1e-4, "peak learning rate (AdamW)").above(0, 1),
            Field.of("train.schedule", ENUM, "cosine", "learning-rate schedule after warmup")
                    .choices("constant", "linear", "cosine"),
            Field.of("train.warmup", NUMBER, 0.0, "linear warmup: a share of the steps if < 1, else a whole number"
                    + " of steps").range(0, 1e9),
            Field.of("train.context", INT, 1024L, "tokens per sequence").range(16, 1 << 20),
            Field.of("train.batch", INT, 1L, "sequences per micro-batch").range(1, 4096),
            Field.of("train.accumulate", INT, 1L, "micro-batches accumulated per optimizer step").range(1, 4096),
            Field.of("train.pack", BOOL, false, "pack several examples into one sequence (each attends only to"
                    + " itself, positions restart per example)"),
            Field.of("train.checkpointing", BOOL, true, "gradient checkpointing: recompute each layer in the"
                    + " backward pass to save memory"),
            Field.of("train.weight_decay", NUMBER, 0.0, "AdamW decoupled weight decay").range(0, 10),
            Field.of("train.grad_clip", NUMBER, 1.0, "clip the global gradient norm to this; 0 = off").range(0, 1e6),
            Field.of("eval.every", INT, 0L, "evaluate the validation loss every N steps; 0 = at the end only")
                    .range(0, 1e9).notHashed(),
            Field.of("eval.questions", PATH, null, "chat rows whose last message is the reference answer: after"
                    + " training, base and adapter answer greedily and exact matches are counted").notHashed(),
            Field.of("checkpoint.every", INT, 0L, "save a resumable checkpoint every N steps; 0 = at the end only")
                    .range(0, 1e9).notHashed(),
            Field.of("checkpoint.keep", INT, 3L, "checkpoints kept (older ones are deleted)").range(1, 1e6)
                    .notHashed(),
            Field.of("seed", INT, 42L, "seeds every random choice: validation split, shuffling, dropout, LoRA init")
                    .range(0, 9007199254740991.0),
            Field.of("threads", INT, 0L, "CPU threads; 0 = all cores (results do not depend on it)")
                    .range(0, 4096).notHashed(),
            Field.of("memory", SIZE, null, "memory budget for the plan, e.g. 12GiB; unset = no limit").notHashed(),
            Field.of("output", PATH, "out", "folder for the adapter, checkpoints and metrics (relative to this"
                    + " recipe)").notHashed());

    /**
     * Fields a stage may set, in print order. A stage's {@code epochs} overrides {@code train.epochs} and so on;
     * what a stage leaves out it takes from the top level.
     */
    public static final List<Field> STAGE_FIELDS = List.of(
            Field.of("name", STRING, null, "stage name (default stage-N)"),
            Field.of("data.train", PATHS, null, "this stage's training data"),
            Field.of("data.valid", PATH, null, "this stage's validation data"),
            Field.of("data.valid_fraction", NUMBER, null, "as data.valid_fraction").range(0, 0.5),
            Field.of("data.format", ENUM, null, "as data.format")
                    .choices("auto", "messages", "sharegpt", "alpaca", "text"),
            Field.of("epochs", NUMBER, null, "as train.epochs").above(0, 1e6),
            Field.of("steps", INT, null, "as train.steps").range(1, 1e9),
            Field.of("lr", NUMBER, null, "as train.lr").above(0, 1),
            Field.of("schedule", ENUM, null, "as train.schedule").choices("constant", "linear", "cosine"),
            Field.of("warmup", NUMBER, null, "as train.warmup").range(0, 1e9));

    /** The top-level key a stage field overrides. */
    public static String inherited(String stageKey) {
        return switch (stageKey) {
            case "epochs", "steps", "lr", "schedule", "warmup" -> "train." + stageKey;
            default -> stageKey;
        };
    }

    static final Map<String, Field> BY_KEY = index(FIELDS);
    static final Map<String, Field> STAGE_BY_KEY = index(STAGE_FIELDS);
    static final Set<String> SECTIONS = sections(FIELDS);
    static final Set<String> STAGE_SECTIONS = sections(STAGE_FIELDS);

    private static Map<String, Field> index(List<Field> fields) {
        Map<String, Field> m = new LinkedHashMap<>();
        for (Field f : fields) m.put(f.key(), f);
        return java.util.Collections.unmodifiableMap(m);
    }

    private static Set<String> sections(List<Field> fields) {
        Set<String> s = new LinkedHashSet<>();
        for (Field f : fields) {
            for (int k = f.key().indexOf('.'); k >= 0; k = f.key().indexOf('.', k + 1)) s.add(f.key().substring(0, k));
        }
        return Set.copyOf(s);
    }
}
