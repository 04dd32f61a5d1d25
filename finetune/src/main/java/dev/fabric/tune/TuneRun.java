package dev.fabric.tune;

import dev.fabric.FabricException;
import dev.fabric.backend.Backend;
import dev.fabric.data.Batch;
import dev.fabric.data.Dataset;
import dev.fabric.data.ExampleEncoder;
import dev.fabric.data.Templates;
import dev.fabric.graph.Executor;
import dev.fabric.graph.MemoryPlan;
import dev.fabric.graph.Param;
import dev.fabric.graph.TrainingSession;
import dev.fabric.lora.AdapterBase;
import dev.fabric.lora.GgufLoraWriter;
import dev.fabric.lora.LoraConfig;
import dev.fabric.lora.LoraRole;
import dev.fabric.lora.LoraTarget;
import dev.fabric.lora.LoraWeights;
import dev.fabric.lora.PeftAdapter;
import dev.fabric.model.Model;
import dev.fabric.recipe.Recipe;
import dev.fabric.template.ChatTemplate;
import dev.fabric.tokenizer.Tokenizer;
import dev.fabric.train.AdamW;
import dev.fabric.train.BatchSource;
import dev.fabric.train.Checkpoints;
import dev.fabric.train.LrSchedule;
import dev.fabric.train.MetricsLog;
import dev.fabric.train.StepRecord;
import dev.fabric.train.Trainer;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * One {@code fabric tune} run: a recipe's LoRA training over its stages, on a frozen base model read in its
 * stored type. Per stage: the data ({@link Dataset}), a {@link Trainer} (AdamW, the stage's schedule, clipping,
 * accumulation), validation every {@code eval.every} steps with the best adapter kept, checkpoints every
 * {@code checkpoint.every} steps. At the end the adapter is written as llama.cpp's GGUF and as PEFT, beside
 * {@code metrics.jsonl}. A stage starts a fresh optimizer on the adapter the previous stage left.
 *
 * <p>Output folder layout: {@code adapter.gguf}, {@code best-adapter.gguf} (lowest validation loss),
 * {@code peft/}, {@code metrics.jsonl}, {@code checkpoints/stage-N/checkpoint-U/}.
 */
public final class TuneRun {
    /** How to run: threads, whether to continue from the newest checkpoint, where to report. */
    public record Options(boolean resume, PrintStream log, Consumer<StepRecord> progress) {}

    /** What a run made. */
    public record Result(Path adapter, Path bestAdapter, Path peft, double firstValidLoss, double bestValidLoss,
            long updates, long skipped, double tokensPerSecond, List<ExactMatch.Answer> answers) {}

    private final Recipe recipe;
    private final Backend backend;
    private final Options options;

    public TuneRun(Recipe recipe, Backend backend, Options options) {
        this.recipe = recipe;
        this.backend = backend;
        this.options = options;
    }

    public Result run() throws IOException {
        Path out = recipe.output();
        try (Model model = Model.open(recipe.model(), backend)) {
            var md = model.file().metadata();
            Tokenizer tok = Tokenizer.fromGguf(md);
            ChatTemplate template = Templates.forRecipe(recipe, md, tok);
            ExampleEncoder encoder = new ExampleEncoder(tok, template, Map.of());
            // Every stage's data is read and checked before anything is written or trained.
            List<Dataset> data = new ArrayList<>();
            for (Recipe.Stage stage : recipe.stages()) data.add(Dataset.load(recipe, stage, tok, encoder, recipe.model()));

            LoraConfig lc = loraConfig();
            LoraWeights lora = LoraWeights.initialise(lc, LoraTarget.select(model.file().tensors(), lc.roles(),
                    recipe.model().toString()));
            AdapterBase base = AdapterBase.of(md);
            String arch = model.config().arch().ggufName();

            try (TrainingSession session = session(model, lora)) {
                GraphStepModel stepModel = new GraphStepModel(session);
                MemoryPlan plan = session.plan(recipe.train().batch(), recipe.train().context(), 1);
                options.log().println("memory plan: " + plan);
                checkBudget(plan, session);
                if (Files.exists(out) && !Files.isDirectory(out))
                    throw new FabricException(recipe.file() + ": output " + out + " is not a folder (the adapter, "
                            + "checkpoints and metrics go in a folder)", FabricException.EXIT_USAGE, null);
                Files.createDirectories(out);
                try (MetricsLog metrics = new MetricsLog(out.resolve("metrics.jsonl"))) {

                    double first = Double.NaN, best = Double.POSITIVE_INFINITY;
                    long updates = 0, skipped = 0, tokens = 0;
                    double seconds = 0;
                    Path bestFile = out.resolve("best-adapter.gguf");
                    for (int si = 0; si < recipe.stages().size(); si++) {
                        Recipe.Stage stage = recipe.stages().get(si);
                        Dataset ds = data.get(si);
                        List<Batch> epoch0 = ds.epoch(0);
                        if (epoch0.isEmpty()) throw new FabricException("stage " + stage.name() + ": no training examples");
                        int acc = recipe.train().accumulate();
                        long perEpoch = (epoch0.size() + acc - 1) / acc;
                        long steps = stage.steps() != null ? stage.steps() : (long) Math.ceil(stage.epochs() * perEpoch);
                        LrSchedule schedule = new LrSchedule(LrSchedule.Kind.valueOf(stage.schedule().name()), stage.lr(),
                                (int) recipe.train().warmupSteps(steps), (int) steps);
                        Trainer<TrainingSession.Batch> trainer = new Trainer<>(stepModel, new Epochs(ds),
                                new Trainer.Config(steps, acc, schedule, recipe.train().gradClip(),
                                        new AdamW.Config(0.9, 0.999, 1e-8, recipe.train().weightDecay()), 5, recipe.seed() + si));
                        Checkpoints ckpt = new Checkpoints(out.resolve("checkpoints").resolve("stage-" + si),
                                recipe.checkpoint().keep(), recipe.hash());
                        Path latest = options.resume() ? Checkpoints.latest(out.resolve("checkpoints").resolve("stage-" + si)) : null;
                        if (latest != null) {
                            ckpt.restore(latest, trainer);
                            options.log().println("resumed stage " + stage.name() + " from " + latest);
                        }
                        if (si == 0 && trainer.updates() == 0) {
                            first = validLoss(session, ds);
                            best = first;
                            options.log().printf("stage %s: %d steps; validation loss before training %.4f%n",
                                    stage.name(), steps, first);
                        }
                        int evalEvery = recipe.eval().every(), ckptEvery = recipe.checkpoint().every();
                        while (trainer.updates() < steps) {
                            StepRecord r = trainer.step();
                            metrics.write(r);
                            options.progress().accept(r);
                            if (r.tokensPerSecond() > 0) {
                                tokens += r.tokens();
                                seconds += r.tokens() / r.tokensPerSecond();
                            }
                            boolean last = trainer.updates() == steps;
                            if (evalEvery > 0 && (trainer.updates() % evalEvery == 0 || last) && !r.skipped()) {
                                double v = validLoss(session, ds);
                                options.log().printf("step %d: validation loss %.4f%n", trainer.updates(), v);
                                if (v < best) {
                                    best = v;
                                    writeAdapter(session, lora, bestFile, arch);
                                }
                            }
                            if (ckptEvery > 0 && (trainer.updates() % ckptEvery == 0 || last)) ckpt.save(trainer, null);
                        }
                        updates += trainer.updates();
                        skipped += trainer.skipped();
                    }
                    Path adapter = out.resolve("adapter.gguf");
                    writeAdapter(session, lora, adapter, arch);
                    if (!Files.exists(bestFile)) writeAdapter(session, lora, bestFile, arch);
                    Path peft = out.resolve("peft");
                    PeftAdapter.write(peft, lora, base);
                    List<ExactMatch.Answer> answers = recipe.eval().questions() == null ? List.of()
                            : ExactMatch.run(model, bestFile, recipe.eval().questions(), template, 48);
                    return new Result(adapter, bestFile, peft, first, best, updates, skipped,
                            seconds > 0 ? tokens / seconds : 0, answers);
                }
            }
        }
    }

    private LoraConfig loraConfig() {
        Recipe.Lora l = recipe.lora();
        return new LoraConfig(l.rank(), l.alpha(), l.dropout(), l.rslora(), LoraRole.parse(l.targets(), "lora.targets"),
                recipe.seed());
    }

    /** The training session of {@code model} with {@code lora}'s pairs as the starting adapter. */
    private TrainingSession session(Model model, LoraWeights lora) {
        LoraConfig lc = lora.config();
        List<TrainingSession.LoraTarget> pairs = new ArrayList<>();
        for (int k = 0; k < lora.targets().size(); k++) {
            pairs.add(new TrainingSession.LoraTarget(lora.targets().get(k).base(), lc.rank(), (float) lc.scale(),
                    (float) lc.dropout(), floats(lora.a(k)), floats(lora.b(k))));
        }
        return TrainingSession.lora(model.config(), model.weights(), backend, pairs,
                new TrainingSession.Options(recipe.train().checkpointing(), 64, recipe.seed()));
    }

    /** The step's memory plan for this recipe (the model opened, LoRA pairs of zeros), for --dry-run. */
    public String describePlan() throws IOException {
        try (Model model = Model.open(recipe.model(), backend)) {
            LoraConfig lc = loraConfig();
            try (TrainingSession session = session(model, LoraWeights.zeros(lc, LoraTarget.select(
                    model.file().tensors(), lc.roles(), recipe.model().toString())))) {
                MemoryPlan plan = session.plan(recipe.train().batch(), recipe.train().context(), 1);
                long budget = budget();
                return plan + String.format("; budget %.0f MiB%s", budget / 1048576.0,
                        plan.peak() > budget ? " (OVER: the run would be refused)" : "");
            }
        }
    }

    /** The memory a run may plan for: {@code memory} from the recipe, else physical RAM less 10% (and 1 GiB). */
    long budget() {
        if (recipe.memoryBytes() != null) return recipe.memoryBytes();
        long ram = physicalMemory();
        return ram <= 0 ? Long.MAX_VALUE : Math.max(ram - ram / 10 - (1L << 30), ram / 2);
    }

    static long physicalMemory() {
        if (java.lang.management.ManagementFactory.getOperatingSystemMXBean()
                instanceof com.sun.management.OperatingSystemMXBean os) return os.getTotalMemorySize();
        return -1;
    }

    /**
     * Refuses, before any step, a plan over the budget: with the numbers, and the plans of the changes that
     * shrink it (a smaller micro-batch or context; gradient checkpointing when it is off).
     */
    private void checkBudget(MemoryPlan plan, TrainingSession session) {
        long budget = budget();
        if (plan.peak() <= budget) return;
        Recipe.Train t = recipe.train();
        StringBuilder fits = new StringBuilder();
        if (t.batch() > 1) {
            long p = session.plan(t.batch() / 2, t.context(), 1).peak();
            fits.append(String.format("%n  train.batch %d (accumulate x2 keeps the step): %.0f MiB%s", t.batch() / 2,
                    p / 1048576.0, p <= budget ? " (fits)" : ""));
        }
        if (t.context() > 16) {
            long p = session.plan(t.batch(), t.context() / 2, 1).peak();
            fits.append(String.format("%n  train.context %d: %.0f MiB%s", t.context() / 2, p / 1048576.0,
                    p <= budget ? " (fits)" : ""));
        }
        if (!t.checkpointing())
            fits.append("\n  train.checkpointing: true (keeps only each layer's input for the backward)");
        throw new FabricException(String.format("%s: the training step needs about %.0f MiB (%s) but the memory"
                        + " budget is %.0f MiB (%s); nothing was trained. Smaller plans:%s", recipe.file(),
                plan.peak() / 1048576.0, plan, budget / 1048576.0,
                recipe.memoryBytes() != null ? "memory in the recipe" : "physical RAM less a margin; set memory to change it",
                fits), FabricException.EXIT_INPUT, null);
    }

    /** Mean loss per target token over the validation batches (gradients computed and discarded). */
    static double validLoss(TrainingSession session, Dataset ds) {
        double sum = 0;
        long n = 0;
        for (Batch b : ds.validBatches()) {
            Executor.Result r = session.forwardBackward(toSession(b));
            sum += r.lossSum();
            n += r.targets();
        }
        session.zeroGrad();
        return n == 0 ? Double.NaN : sum / n;
    }

    /** Copies the session's LoRA values into {@code lora} and writes it as llama.cpp's adapter GGUF. */
    private static void writeAdapter(TrainingSession session, LoraWeights lora, Path file, String arch) throws IOException {
        for (int k = 0; k < lora.targets().size(); k++) {
            String w = lora.targets().get(k).base();
            copy(session.param(w + ".lora_a"), lora.a(k));
            copy(session.param(w + ".lora_b"), lora.b(k));
        }
        GgufLoraWriter.write(file, lora, arch);
    }

    private static void copy(Param p, FloatBuffer dst) {
        FloatBuffer src = p.values();
        for (int i = 0, n = dst.capacity(); i < n; i++) dst.put(i, src.get(i));
    }

    private static float[] floats(FloatBuffer b) {
        float[] x = new float[b.capacity()];
        b.get(0, x);
        return x;
    }

    static TrainingSession.Batch toSession(Batch b) {
        return new TrainingSession.Batch(b.rows(), b.context(), b.tokens(), b.targets(), b.positions(), b.segments());
    }

    /** The stage's batches epoch after epoch, each epoch in its own seeded order; position = (epoch, batch). */
    static final class Epochs implements BatchSource<TrainingSession.Batch> {
        private final Dataset ds;
        private int epoch, next;
        private List<Batch> batches;

        Epochs(Dataset ds) {
            this.ds = ds;
            this.batches = ds.epoch(0);
        }

        @Override
        public TrainingSession.Batch next() {
            if (next == batches.size()) {
                epoch++;
                next = 0;
                batches = ds.epoch(epoch);
            }
            return toSession(batches.get(next++));
        }

        @Override
        public byte[] state() {
            return new Position(epoch, next).bytes();
        }

        @Override
        public void restore(byte[] state) {
            Position p = Position.of(state);
            epoch = p.epoch();
            next = p.next();
            batches = ds.epoch(epoch);
        }
    }
}
