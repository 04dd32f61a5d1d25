package dev.fabric.cli;

import dev.fabric.FabricException;
import dev.fabric.data.Dataset;
import dev.fabric.data.ExampleEncoder;
import dev.fabric.data.Templates;
import dev.fabric.gguf.GgufFile;
import dev.fabric.recipe.Recipe;
import dev.fabric.recipe.RecipeLoader;
import dev.fabric.recipe.RecipePrinter;
import dev.fabric.template.ChatTemplate;
import dev.fabric.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code fabric tune}: LoRA fine-tuning from a recipe. This build checks the recipe and the data only. */
@Command(name = "tune", mixinStandardHelpOptions = true,
        description = {"Fine-tune a LoRA adapter as a YAML recipe says (model, data, template, lora, train, stages).",
            "--print-recipe prints every field with its default and a comment; --dry-run reads, renders and",
            "tokenizes the data and prints the data report, then exits."},
        footer = {"", "Examples:",
            "  fabric tune --print-recipe > recipe.yaml        # every field with its default",
            "  fabric tune recipe.yaml --dry-run               # data report: formats, drops, lengths, masks",
            "  fabric tune recipe.yaml --dry-run --set lora.rank=8 --set train.pack=true",
            "", "A minimal recipe:",
            "  model: qwen3-1.7b-f16.gguf",
            "  data: {train: train.jsonl, valid_fraction: 0.05}",
            "  train: {epochs: 2, context: 2048, pack: true}"})
public final class TuneCommand implements Callable<Integer> {
    @Parameters(index = "0", arity = "0..1", paramLabel = "RECIPE.yaml", description = "The recipe.")
    Path recipe;

    @Option(names = "--print-recipe",
            description = "Print the full recipe (every field, its default, one comment each) and exit; with RECIPE,"
                    + " its effective values (overrides applied) and hash.")
    boolean printRecipe;

    @Option(names = "--dry-run", description = "Read and check everything, print the data report, and exit.")
    boolean dryRun;

    @Option(names = "--set", paramLabel = "KEY=VALUE",
            description = "Override a recipe field (repeatable), e.g. --set lora.rank=8, --set stages.0.epochs=2."
                    + " VALUE is read as YAML.")
    List<String> sets = new ArrayList<>();

    @Option(names = "--resume", description = "Continue from the newest checkpoint in the recipe's output folder.")
    boolean resume;

    @Option(names = "--color", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Mark trained tokens in green when stdout is a terminal (--no-color: between [[ ]]).")
    boolean color;

    @Override
    public Integer call() throws IOException {
        PrintStream out = System.out;
        if (recipe == null) {
            if (printRecipe) {
                if (!sets.isEmpty()) {
                    throw new FabricException("--set needs a RECIPE.yaml to apply to", FabricException.EXIT_USAGE, null);
                }
                out.print(RecipePrinter.defaults());
                return 0;
            }
            throw new FabricException("give a RECIPE.yaml (fabric tune --print-recipe prints one with every field)",
                    FabricException.EXIT_USAGE, null);
        }
        Recipe r = RecipeLoader.load(recipe, sets);
        if (printRecipe) {
            out.print(RecipePrinter.print(r));
            return 0;
        }
        if (!dryRun) return train(r);
        return dryRun(r, out);
    }

    private int train(Recipe r) throws IOException {
        int threads = r.threads() > 0 ? r.threads() : Runtime.getRuntime().availableProcessors();
        long t0 = System.nanoTime();
        try (var backend = new dev.fabric.backend.cpu.CpuBackend(threads)) {
            var log = System.err;
            var run = new dev.fabric.tune.TuneRun(r, backend, new dev.fabric.tune.TuneRun.Options(resume, log,
                    s -> {
                        if (s.step() == 1 || s.step() % 10 == 0)
                            log.printf("step %d  loss %.4f  lr %.3g  grad norm %.3g  %.0f tok/s%s%n", s.update(),
                                    s.loss(), s.lr(), s.gradNorm(), s.tokensPerSecond(), s.skipped() ? "  (skipped)" : "");
                    }));
            var res = run.run();
            System.out.printf("done in %.1f s: %d optimizer steps (%d skipped), %.0f tokens/s%n",
                    (System.nanoTime() - t0) / 1e9, res.updates(), res.skipped(), res.tokensPerSecond());
            System.out.printf("validation loss %.4f -> best %.4f%n", res.firstValidLoss(), res.bestValidLoss());
            System.out.println("adapter: " + res.adapter() + " (best: " + res.bestAdapter() + "), PEFT: " + res.peft());
            if (!res.answers().isEmpty()) {
                var a = res.answers();
                long base = a.stream().filter(dev.fabric.tune.ExactMatch.Answer::baseCorrect).count();
                long tuned = a.stream().filter(dev.fabric.tune.ExactMatch.Answer::tunedCorrect).count();
                System.out.println();
                for (int i = 0; i < Math.min(4, a.size()); i++) {
                    var x = a.get(i);
                    System.out.println("Q: " + x.question());
                    System.out.println("  reference: " + x.reference());
                    System.out.println("  before:    " + x.base());
                    System.out.println("  after:     " + x.tuned());
                }
                System.out.printf("%nheld-out exact match: before %d/%d (%.0f%%), after %d/%d (%.0f%%)%n", base, a.size(),
                        100.0 * base / a.size(), tuned, a.size(), 100.0 * tuned / a.size());
            }
        }
        return 0;
    }

    private int dryRun(Recipe r, PrintStream out) throws IOException {
        boolean ansi = color && onTerminal() && !"dumb".equals(System.getenv("TERM"));
        out.println("recipe: " + recipe + " (hash " + r.hash() + ")");
        try (GgufFile f = GgufFile.open(r.model())) {
            Tokenizer tok = Tokenizer.fromGguf(f.metadata());
            ChatTemplate template = Templates.forRecipe(r, f.metadata(), tok);
            out.println("model: " + r.model() + " (" + f.metadata().getString("general.architecture", "?") + ", "
                    + tok.vocabSize() + " tokens)");
            out.println("chat template: " + (template == null ? "none (text rows only)"
                    : template.name() + (r.template() == null ? " (the model's own)" : "")
                    + ", end of turn " + template.endOfTurn().orElse("unknown")));
            out.printf("lora: rank %d, alpha %s (scale %.4g%s), targets %s, dropout %s%n", r.lora().rank(),
                    RecipePrinter.yaml(r.lora().alpha()), r.lora().scale(), r.lora().rslora() ? ", rsLoRA" : "",
                    String.join(",", r.lora().targets()), RecipePrinter.yaml(r.lora().dropout()));
            ExampleEncoder enc = new ExampleEncoder(tok, template, Map.of());
            long totalSteps = 0;
            for (Recipe.Stage s : r.stages()) {
                Dataset ds = Dataset.load(r, s, tok, enc, r.model());
                out.println();
                out.print(ds.report().format(ansi));
                int perStep = r.train().batch() * r.train().accumulate();
                int sequences = ds.sequences(0).size();
                // An epoch is ceil(sequences / batch) micro-batches, ceil(that / accumulate) optimizer steps.
                long stepsPerEpoch = ((sequences + r.train().batch() - 1) / r.train().batch() + r.train().accumulate() - 1)
                        / r.train().accumulate();
                long steps = s.steps() != null ? s.steps() : (long) Math.ceil(s.epochs() * stepsPerEpoch);
                totalSteps += steps;
                long warmup = s.warmup() < 1 ? Math.round(s.warmup() * steps) : (long) s.warmup();
                out.printf("%nstage %s: %d optimizer steps (%s; %d sequences per epoch, %d per step = batch %d x"
                                + " accumulate %d); lr %s, %s schedule, %d warmup steps%n", s.name(), steps,
                        s.steps() != null ? "train.steps" : RecipePrinter.yaml(s.epochs()) + " epochs", sequences,
                        perStep, r.train().batch(), r.train().accumulate(), RecipePrinter.yaml(s.lr()),
                        s.schedule().name().toLowerCase(java.util.Locale.ROOT), warmup);
            }
            out.println();
            out.println("total: " + totalSteps + " optimizer steps over " + r.stages().size() + " stage(s)");
            try (var backend = new dev.fabric.backend.cpu.CpuBackend(1)) {
                out.println("memory plan: " + new dev.fabric.tune.TuneRun(r, backend,
                        new dev.fabric.tune.TuneRun.Options(false, System.err, s -> {})).describePlan());
            } catch (FabricException e) { // a vocabulary-only file checks the data; it cannot be trained
                out.println("memory plan: none (" + e.getMessage() + ")");
            }
            out.println("estimated time: not estimated (fabric bench tune measures this machine's tokens per second)");
        }
        return 0;
    }

    /**
     * Whether the standard streams are a terminal. On JDK 21 a console exists only then; from JDK 22 one may
     * exist when they are redirected, and {@code Console.isTerminal()} (called reflectively, as this compiles
     * for 21) tells.
     */
    static boolean onTerminal() {
        java.io.Console c = System.console();
        if (c == null) return false;
        try {
            return (Boolean) java.io.Console.class.getMethod("isTerminal").invoke(c);
        } catch (ReflectiveOperationException e) {
            return true;
        }
    }
}
