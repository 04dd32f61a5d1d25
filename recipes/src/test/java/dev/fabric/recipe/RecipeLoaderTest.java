package dev.fabric.recipe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The recipe loader: values, defaults, stages, --set, the hash, and one test per kind of bad recipe. */
class RecipeLoaderTest {
    @TempDir
    Path dir;

    private static final String GOOD = """
            model: base.gguf
            data:
              train: train.jsonl
            lora:
              rank: 8
            """;

    @BeforeEach
    void files() throws IOException {
        for (String f : List.of("base.gguf", "train.jsonl", "valid.jsonl", "s1.jsonl", "s2.arrow", "mine.jinja")) {
            Files.writeString(dir.resolve(f), "");
        }
    }

    private Recipe load(String yaml, String... sets) throws IOException {
        Path f = dir.resolve("recipe.yaml");
        Files.writeString(f, yaml);
        return RecipeLoader.load(f, List.of(sets));
    }

    /** The error message, with the recipe's folder written as DIR. */
    private String error(String yaml, String... sets) {
        RecipeException e = assertThrows(RecipeException.class, () -> load(yaml, sets));
        return e.getMessage().replace(dir.resolve("recipe.yaml").toString(), "recipe.yaml")
                .replace(dir.toString(), "DIR");
    }

    @Test
    void defaultsFillWhatTheRecipeLeavesOut() throws IOException {
        Recipe r = load(GOOD);
        assertEquals(dir.resolve("base.gguf"), r.model());
        assertEquals(List.of(dir.resolve("train.jsonl")), r.data().train());
        assertEquals(8, r.lora().rank());
        assertEquals(32.0, r.lora().alpha());
        assertEquals(4.0, r.lora().scale());
        assertEquals(RecipeSchema.LORA_TARGETS, r.lora().targets());
        assertNull(r.train().steps());
        assertEquals(1.0, r.train().epochs());
        assertEquals(1e-4, r.train().lr());
        assertEquals(Recipe.Schedule.COSINE, r.train().schedule());
        assertEquals(1024, r.train().context());
        assertEquals(Recipe.Format.AUTO, r.data().format());
        assertEquals(Recipe.Overlong.DROP, r.data().overlong());
        assertEquals(42, r.seed());
        assertEquals(dir.resolve("out"), r.output());
        assertNull(r.template());
        assertFalse(r.explicitStages());
        assertEquals(1, r.stages().size());
        assertEquals("main", r.stages().get(0).name());
        assertEquals(64, r.hash().length());
    }

    @Test
    void everyFieldIsRead() throws IOException {
        Recipe r = load("""
                model: base.gguf
                template: mine.jinja
                data: {train: [train.jsonl, s1.jsonl], valid: valid.jsonl, format: messages, overlong: truncate,
                       max_malformed: 0.1}
                lora: {rank: 4, alpha: 8, dropout: 0.05, targets: [attn_q, attn_v], rslora: true}
                train: {steps: 200, lr: 2e-4, schedule: linear, warmup: 0.1, context: 512, batch: 2, accumulate: 4,
                        pack: true, checkpointing: false, weight_decay: 0.01, grad_clip: 0}
                eval: {every: 50}
                checkpoint: {every: 100, keep: 2}
                seed: 7
                threads: 2
                memory: 12GiB
                output: runs/a
                """);
        assertEquals(dir.resolve("mine.jinja"), r.templateFile());
        assertEquals(2, r.data().train().size());
        assertEquals(dir.resolve("valid.jsonl"), r.data().valid());
        assertEquals(Recipe.Format.MESSAGES, r.data().format());
        assertEquals(Recipe.Overlong.TRUNCATE, r.data().overlong());
        assertEquals(0.1, r.data().maxMalformed());
        assertEquals(8 / Math.sqrt(4), r.lora().scale(), 1e-15);
        assertEquals(List.of("attn_q", "attn_v"), r.lora().targets());
        assertEquals(200, r.train().steps());
        assertEquals(20, r.train().warmupSteps(200));
        assertEquals(2e-4, r.train().lr());
        assertTrue(r.train().pack());
        assertFalse(r.train().checkpointing());
        assertEquals(50, r.eval().every());
        assertEquals(2, r.checkpoint().keep());
        assertEquals(12L << 30, r.memoryBytes());
        assertEquals(dir.resolve("runs/a"), r.output());
    }

    @Test
    void stagesInheritWhatTheyLeaveOut() throws IOException {
        Recipe r = load("""
                model: base.gguf
                train: {lr: 0.001, schedule: constant, steps: 10}
                data: {overlong: truncate, max_malformed: 0.2}
                stages:
                  - name: basics
                    data: {train: s1.jsonl}
                    epochs: 2
                  - data: {train: s2.arrow, format: text}
                    lr: 0.0005
                    schedule: linear
                """);
        assertTrue(r.explicitStages());
        assertEquals(2, r.stages().size());
        Recipe.Stage a = r.stages().get(0), b = r.stages().get(1);
        assertEquals("basics", a.name());
        assertEquals(Recipe.Overlong.TRUNCATE, a.data().overlong());
        assertEquals(0.2, b.data().maxMalformed());
        assertNull(a.steps());
        assertEquals(2.0, a.epochs());
        assertEquals(0.001, a.lr());
        assertEquals(Recipe.Schedule.CONSTANT, a.schedule());
        assertEquals("stage-2", b.name());
        assertEquals(10, b.steps());
        assertEquals(0.0005, b.lr());
        assertEquals(Recipe.Schedule.LINEAR, b.schedule());
        assertEquals(Recipe.Format.TEXT, b.data().format());
        assertEquals(List.of(dir.resolve("s2.arrow")), b.data().train());
    }

    @Test
    void setOverridesAnyFieldAndChangesTheHash() throws IOException {
        Recipe base = load(GOOD);
        Recipe r = load(GOOD, "lora.rank=32", "train.pack=true", "lora.targets=[attn_q, ffn_down]", "data.format=alpaca");
        assertEquals(32, r.lora().rank());
        assertTrue(r.train().pack());
        assertEquals(List.of("attn_q", "ffn_down"), r.lora().targets());
        assertEquals(Recipe.Format.ALPACA, r.data().format());
        assertNotEquals(base.hash(), r.hash());
        // Fields that only decide where and how fast the run goes leave the hash alone.
        assertEquals(base.hash(), load(GOOD, "threads=3", "output=elsewhere", "eval.every=5", "memory=2GB").hash());
        // The same effective recipe written differently has the same hash.
        assertEquals(base.hash(), load("{model: base.gguf, data: {train: [train.jsonl]}, lora: {rank: 8.0, alpha: 32}}").hash());
        assertEquals(base.hash(), load("model: base.gguf\ndata: {train: train.jsonl}\n", "lora.rank=8").hash());
        assertTrue(r.canonical().contains("lora.rank=32\n"), r.canonical());
        assertFalse(r.canonical().contains("threads"), r.canonical());
        // A stage field by index.
        Recipe s = load("model: base.gguf\nstages:\n  - data: {train: s1.jsonl}\n", "stages.0.epochs=3");
        assertEquals(3.0, s.stages().get(0).epochs());
    }

    @Test
    void hashIsSha256OfTheCanonicalForm() throws Exception {
        Recipe r = load(GOOD);
        byte[] h = java.security.MessageDigest.getInstance("SHA-256")
                .digest(r.canonical().getBytes(java.nio.charset.StandardCharsets.UTF_8));
        assertEquals(java.util.HexFormat.of().formatHex(h), r.hash());
        assertTrue(r.canonical().startsWith("data.format=\"auto\"\n"), r.canonical());
        assertTrue(r.canonical().contains("data.train=[\"train.jsonl\"]\n"), r.canonical());
        assertTrue(r.canonical().contains("train.lr=0.0001\n"), r.canonical());
    }

    @Test
    void printRecipeListsEveryFieldWithItsDefaultAndReadsBack() throws IOException {
        String text = RecipePrinter.defaults();
        for (Field f : RecipeSchema.FIELDS) {
            assertTrue(text.contains(f.leaf() + ": " + RecipePrinter.yaml(f.dflt()) + "\n"), f.key());
            assertTrue(text.contains("# " + f.doc()), f.key());
        }
        // Filled in, the printed defaults are a valid recipe that equals the defaults.
        String filled = text.replace("model: ~", "model: base.gguf").replace("  train: ~", "  train: train.jsonl");
        assertEquals(load("model: base.gguf\ndata: {train: train.jsonl}\n").hash(), load(filled).hash());
        // An effective recipe prints back to the same recipe.
        Recipe r = load(GOOD, "train.lr=3e-4", "template=chatml");
        String eff = RecipePrinter.print(r);
        assertTrue(eff.contains("  rank: 8\n") && eff.contains("  lr: 0.0003\n") && eff.contains("template: chatml\n"), eff);
        assertEquals(r.hash(), load(eff).hash());
        // With train.steps set, train.epochs is printed commented out, and stages print back too.
        Recipe s = load(GOOD + "train: {steps: 30}\nstages:\n  - {data: {train: s1.jsonl}, lr: 0.001}\n  - {name: b, epochs: 2}\n");
        String st = RecipePrinter.print(s);
        assertTrue(st.contains("  # epochs: ~\n") && st.contains("  - name: stage-1\n"), st);
        Recipe back = load(st);
        assertEquals(s.hash(), back.hash());
        assertEquals(s.stages(), back.stages());
    }

    /** Each kind of bad recipe, with the exact place and the message. */
    static Stream<Arguments> badRecipes() {
        return Stream.of(
                Arguments.of("unknown key, misspelt", GOOD.replace("rank: 8", "rnak: 8"), new String[0],
                        "recipe.yaml:5:3: lora.rnak: unknown key (did you mean lora.rank?)"),
                Arguments.of("key in the wrong section", "model: base.gguf\ndata: {train: train.jsonl}\nrank: 4\n",
                        new String[0], "recipe.yaml:3:1: rank: unknown key (did you mean lora.rank?)"),
                Arguments.of("unknown key, no suggestion", GOOD + "colour: blue\n", new String[0],
                        "recipe.yaml:6:1: colour: unknown key"),
                Arguments.of("wrong type", GOOD.replace("rank: 8", "rank: eight"), new String[0],
                        "recipe.yaml:5:9: lora.rank: expected a whole number >= 1 and <= 4096, got 'eight'"),
                Arguments.of("not a whole number", GOOD.replace("rank: 8", "rank: 8.5"), new String[0],
                        "recipe.yaml:5:9: lora.rank: expected a whole number >= 1 and <= 4096, got 8.5"),
                Arguments.of("out of range", GOOD + "  dropout: 1.5\n", new String[0],
                        "recipe.yaml:6:12: lora.dropout: 1.5 is out of range: expected a number >= 0 and <= 0.999"),
                Arguments.of("zero learning rate", GOOD + "train:\n  lr: 0\n", new String[0],
                        "recipe.yaml:7:7: train.lr: 0 is out of range: expected a number > 0 and <= 1"),
                Arguments.of("bad enum, misspelt", GOOD + "train: {schedule: cosin}\n", new String[0],
                        "recipe.yaml:6:19: train.schedule: unknown value 'cosin' (did you mean cosine?); expected one"
                                + " of constant, linear, cosine"),
                Arguments.of("boolean expected", GOOD + "train: {pack: maybe}\n", new String[0],
                        "recipe.yaml:6:15: train.pack: expected true or false, got 'maybe'"),
                Arguments.of("section not a mapping", "model: base.gguf\ndata: {train: train.jsonl}\nlora: 8\n",
                        new String[0], "recipe.yaml:3:7: lora: expected a section with keys such as rank, alpha,"
                                + " dropout, targets, got '8'"),
                Arguments.of("list where a number goes", GOOD + "seed: [1, 2]\n", new String[0],
                        "recipe.yaml:6:7: seed: expected a whole number >= 0 and <= 9007199254740991, got a list"),
                Arguments.of("steps and epochs", GOOD + "train:\n  steps: 10\n  epochs: 2\n", new String[0],
                        "recipe.yaml:8:11: train.epochs: set train.steps or train.epochs, not both (train.steps at"
                                + " recipe.yaml:7:10)"),
                Arguments.of("valid and valid_fraction",
                        "model: base.gguf\ndata:\n  train: train.jsonl\n  valid: valid.jsonl\n  valid_fraction: 0.1\n",
                        new String[0], "recipe.yaml:5:19: data.valid_fraction: set data.valid or"
                                + " data.valid_fraction, not both (data.valid at recipe.yaml:4:10)"),
                Arguments.of("model missing", "data: {train: train.jsonl}\n", new String[0],
                        "recipe.yaml: model: missing; set it to the base model's GGUF file"),
                Arguments.of("model file absent", "model: nope.gguf\ndata: {train: train.jsonl}\n", new String[0],
                        "recipe.yaml:1:8: model: no such file: DIR/nope.gguf"),
                Arguments.of("data file absent", "model: base.gguf\ndata:\n  train: [train.jsonl, gone.jsonl]\n",
                        new String[0], "recipe.yaml:3:10: data.train: no such file: DIR/gone.jsonl"),
                Arguments.of("data missing", "model: base.gguf\n", new String[0],
                        "recipe.yaml: data.train: missing; set it to your training file(s)"),
                Arguments.of("YAML syntax error", "model: base.gguf\ndata: {train: train.jsonl\nlora:\n", new String[0],
                        "recipe.yaml:3:5: invalid YAML:"),
                Arguments.of("duplicate key", GOOD + "  rank: 4\n", new String[0],
                        "recipe.yaml:6:3: lora.rank: duplicate key (first at recipe.yaml:5:3)"),
                Arguments.of("unknown template", GOOD + "template: chatm\n", new String[0],
                        "recipe.yaml:6:11: template: unknown chat template 'chatm' (did you mean chatml?); built-in:"
                                + " chatml, qwen3, llama3, gemma, or a .jinja file"),
                Arguments.of("template file absent", GOOD + "template: templates/x.jinja\n", new String[0],
                        "recipe.yaml:6:11: template: no such file: DIR/templates/x.jinja"),
                Arguments.of("bad memory size", GOOD + "memory: 12 parsecs\n", new String[0],
                        "recipe.yaml:6:9: memory: expected a size such as 12GiB, 800MB or a number of bytes, got"
                                + " '12 parsecs'"),
                Arguments.of("unknown LoRA target", GOOD + "  targets: [attn_q, atn_v]\n", new String[0],
                        "recipe.yaml:6:12: lora.targets: unknown value 'atn_v' (did you mean attn_v?)"),
                Arguments.of("fractional warmup steps", GOOD + "train: {warmup: 2.5}\n", new String[0],
                        "recipe.yaml:6:17: train.warmup: 2.5 is neither a share below 1 nor a whole number of steps"),
                Arguments.of("stages not a list", GOOD + "stages: {data: x}\n", new String[0],
                        "recipe.yaml:6:9: stages: expected a list of stages"),
                Arguments.of("stage unknown key", GOOD + "stages:\n  - data: {train: s1.jsonl}\n    epoch: 2\n",
                        new String[0], "recipe.yaml:8:5: stages[0].epoch: unknown key (did you mean stages[0].epochs?)"),
                Arguments.of("stage without data", "model: base.gguf\nstages:\n  - epochs: 2\n", new String[0],
                        "recipe.yaml:3:5: stages[0].data.train: missing; set it in the stage or set data.train at the"
                                + " top level"),
                Arguments.of("two stages with one name",
                        GOOD + "stages:\n  - {name: a, data: {train: s1.jsonl}}\n  - {name: a, data: {train: s1.jsonl}}\n",
                        new String[0], "recipe.yaml:8:12: stages[1].name: 'a' names two stages"),
                Arguments.of("empty recipe", "# nothing yet\n", new String[0],
                        "recipe.yaml: the recipe is empty"),
                Arguments.of("recipe is a list", "- model: base.gguf\n", new String[0],
                        "recipe.yaml:1:1: a recipe is a mapping of keys"),
                Arguments.of("--set unknown key", GOOD, new String[] {"lora.rnak=4"},
                        "--set lora.rnak=4: lora.rnak: unknown key (did you mean lora.rank?)"),
                Arguments.of("--set bad value", GOOD, new String[] {"train.batch=0"},
                        "--set train.batch=0: train.batch: 0 is out of range: expected a whole number >= 1 and <= 4096"),
                Arguments.of("--set without =", GOOD, new String[] {"lora.rank"},
                        "--set lora.rank: expected KEY=VALUE, e.g. --set lora.rank=8"),
                Arguments.of("--set a section", GOOD, new String[] {"lora=4"},
                        "--set lora=4: lora is a section; set one of its keys, e.g. lora.rank"),
                Arguments.of("--set a stage that does not exist", GOOD, new String[] {"stages.2.epochs=1"},
                        "--set stages.2.epochs=1: the recipe has 0 stage(s); stages.2 does not exist"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badRecipes")
    void badRecipeNamesThePlace(String kind, String yaml, String[] sets, String expected) {
        String msg = error(yaml, sets);
        assertTrue(msg.startsWith(expected), kind + ":\n  expected: " + expected + "\n  got:      " + msg);
    }

    @Test
    void suggestionsAreCloseOnly() {
        assertEquals(" (did you mean lora.rank?)", Suggest.didYouMean("lora.rnak", RecipeSchema.BY_KEY.keySet(), ""));
        assertEquals("", Suggest.didYouMean("zzzzzz", RecipeSchema.BY_KEY.keySet(), ""));
        assertEquals(1, Suggest.distance("rnak", "rank"));
        assertEquals(3, Suggest.distance("kitten", "sitting"));
    }
}
