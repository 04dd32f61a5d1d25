package dev.fabric.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fabric.gguf.GgufFile;
import dev.fabric.gguf.GgufMetadata;
import dev.fabric.gguf.GgufWriter;
import dev.fabric.testing.SharedRef;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code fabric tune}: --print-recipe, --dry-run's data report, --set, and the errors with their exit codes. */
class TuneCommandTest {
    @TempDir
    Path dir;

    private static final String CHAT = "{\"messages\": [{\"role\": \"user\", \"content\": \"Is aspirin an NSAID?\"},"
            + " {\"role\": \"assistant\", \"content\": \"Yes.\"}, {\"role\": \"user\", \"content\": \"Thanks\"},"
            + " {\"role\": \"assistant\", \"content\": \"You're welcome.\"}]}\n";

    private Path recipe(String body) throws IOException {
        return Files.writeString(dir.resolve("recipe.yaml"), body);
    }

    private String model() {
        return SharedRef.require("models/ggml-vocab-qwen3.gguf").toString();
    }

    @Test
    void helpHasAnExample() {
        Run r = Run.of("tune", "--help");
        assertEquals(0, r.rc(), r.err());
        assertTrue(r.out().contains("Usage: fabric tune") && r.out().contains("Examples:"), r.out());
    }

    @Test
    void printRecipeListsEveryField() {
        Run r = Run.of("tune", "--print-recipe");
        assertEquals(0, r.rc(), r.err());
        for (String k : List.of("model: ~", "  rank: 16", "  alpha: 32.0", "  targets: [attn_q, attn_k, attn_v,",
                "  pack: false", "  context: 1024", "seed: 42", "output: out", "# stages:")) {
            assertTrue(r.out().contains(k + (k.endsWith(",") ? "" : "\n")), k + " in\n" + r.out());
        }
    }

    @Test
    void dryRunPrintsTheDataReportAndWritesNothing() throws IOException {
        Files.writeString(dir.resolve("train.jsonl"), CHAT + CHAT.replace("Yes.", "Yes, it is.") + "{oops\n"
                + "{\"instruction\": \"Say hi.\", \"output\": \"hi\"}\n");
        Files.writeString(dir.resolve("more.txt"), "Aspirin is an NSAID.\n\nIbuprofen too.\n");
        Path rec = recipe("model: " + model() + "\ndata:\n  train: [train.jsonl, more.txt]\n  max_malformed: 0.5\n"
                + "train: {context: 256, pack: true, batch: 2}\nstages:\n  - {name: chat, data: {train: train.jsonl}}\n"
                + "  - {name: text, data: {train: more.txt}, epochs: 2}\n");
        Run r = Run.of("tune", rec.toString(), "--dry-run", "--no-color", "--set", "lora.rank=8");
        assertEquals(0, r.rc(), r.err());
        String out = r.out();
        assertTrue(out.contains("chat template: "), out);
        assertTrue(out.contains("lora: rank 8, alpha 32.0 (scale 4"), out);
        assertTrue(out.contains("data, stage chat:") && out.contains("data, stage text:"), out);
        assertTrue(out.contains("train.jsonl:3: invalid JSON"), out);
        assertTrue(out.contains("an alpaca row in a file read as messages"), out);
        assertTrue(out.contains("[[Yes.<|im_end|>]]"), out);
        // Qwen3's own template writes an empty think block into the last reply: trained, as it renders it.
        assertTrue(out.contains("[[<think>\n\n</think>\n\nYou're welcome.<|im_end|>]]"), out);
        assertTrue(out.contains("[[pirin is an NSAID.<|im_end|>]]"), out);
        assertTrue(out.contains("token lengths"), out);
        assertTrue(out.contains("stage text: 2 optimizer steps (2.0 epochs; 1 sequences per epoch"), out);
        assertTrue(out.contains("memory plan: none (") && out.contains("ggml-vocab-qwen3.gguf"), out); // no weights to plan for
        assertTrue(out.lines().anyMatch(l -> l.matches("recipe: .* \\(hash [0-9a-f]{64}\\)")), out);
        assertFalse(Files.exists(dir.resolve("out")), "a dry run writes nothing");
    }

    @Test
    void printRecipeWithARecipeShowsItsEffectiveValues() throws IOException {
        Files.writeString(dir.resolve("t.jsonl"), CHAT);
        Path rec = recipe("model: " + model() + "\ndata: {train: t.jsonl}\n");
        Run r = Run.of("tune", rec.toString(), "--print-recipe", "--set", "train.lr=0.0003");
        assertEquals(0, r.rc(), r.err());
        assertTrue(r.out().contains("  lr: 0.0003\n") && r.out().contains("recipe hash "), r.out());
    }

    @Test
    void badRecipesAreInputErrorsNamingTheLine() throws IOException {
        Files.writeString(dir.resolve("t.jsonl"), CHAT);
        Path rec = recipe("model: " + model() + "\ndata: {train: t.jsonl}\nlora:\n  rnak: 4\n");
        Run r = Run.of("tune", rec.toString(), "--dry-run");
        assertEquals(3, r.rc());
        assertTrue(r.err().contains("fabric tune: error: " + rec + ":4:3: lora.rnak: unknown key (did you mean"
                + " lora.rank?)"), r.err());
        Path ok = recipe("model: " + model() + "\ndata: {train: t.jsonl}\n");
        Run s = Run.of("tune", ok.toString(), "--dry-run", "--set", "train.context=abc");
        assertEquals(3, s.rc());
        assertTrue(s.err().contains("--set train.context=abc: train.context: expected a whole number"), s.err());
    }

    @Test
    void tooManyMalformedRowsStopWithTheirList() throws IOException {
        Files.writeString(dir.resolve("t.jsonl"), CHAT + "{\n[]\n");
        Path rec = recipe("model: " + model() + "\ndata: {train: t.jsonl}\n");
        Run r = Run.of("tune", rec.toString(), "--dry-run");
        assertEquals(3, r.rc());
        assertTrue(r.err().contains("2 of 3 rows are malformed, more than data.max_malformed (0.01 = 0 rows):"), r.err());
        assertTrue(r.err().contains("  t.jsonl:2: invalid JSON") && r.err().contains("  t.jsonl:3: expected a JSON"
                + " object, got an array"), r.err());
    }

    @Test
    void aModelWithoutATemplateNeedsOneForConversations() throws Exception {
        GgufMetadata md;
        try (GgufFile f = GgufFile.open(Path.of(model()))) {
            md = f.metadata().toBuilder().remove("tokenizer.chat_template").build();
        }
        Path bare = dir.resolve("bare.gguf");
        try (GgufWriter w = GgufWriter.create(bare, md, List.of(), 32)) {
            w.finish();
        }
        Files.writeString(dir.resolve("t.jsonl"), CHAT);
        Path rec = recipe("model: bare.gguf\ndata: {train: t.jsonl}\n");
        Run r = Run.of("tune", rec.toString(), "--dry-run");
        assertEquals(3, r.rc());
        assertTrue(r.err().contains("the model has no chat template (tokenizer.chat_template) and the recipe sets"
                + " none, so conversation rows cannot be rendered (first one at t.jsonl:1)"), r.err());
        // Naming a built-in template fixes it.
        assertEquals(0, Run.of("tune", rec.toString(), "--dry-run", "--set", "template=chatml").rc());
    }

    @Test
    void arrowDataOnThisJdk() throws Exception {
        // An Arrow IPC stream holding text rows, written by hand: schema message, one record batch, end marker.
        // Written with Arrow's own writer in the finetune tests; here the CLI's class path is what is checked.
        Path arrow = dir.resolve("t.arrows");
        writeArrowText(arrow, List.of("Aspirin is an NSAID.", "Ibuprofen too."));
        Path rec = recipe("model: " + model() + "\ndata: {train: t.arrows}\n");
        Run r = Run.of("tune", rec.toString(), "--dry-run", "--no-color");
        assertEquals(0, r.rc(), r.err());
        assertTrue(r.out().contains("arrow-stream") && r.out().contains("text      (detected)"), r.out());
    }

    private static void writeArrowText(Path file, List<String> texts) throws IOException {
        try (var alloc = new org.apache.arrow.memory.RootAllocator();
                var root = org.apache.arrow.vector.VectorSchemaRoot.create(new org.apache.arrow.vector.types.pojo.Schema(
                        List.of(new org.apache.arrow.vector.types.pojo.Field("text",
                                org.apache.arrow.vector.types.pojo.FieldType.nullable(
                                        new org.apache.arrow.vector.types.pojo.ArrowType.Utf8()), null))), alloc);
                var out = Files.newOutputStream(file)) {
            var v = (org.apache.arrow.vector.VarCharVector) root.getVector("text");
            v.allocateNew();
            for (int i = 0; i < texts.size(); i++) v.setSafe(i, texts.get(i).getBytes(java.nio.charset.StandardCharsets.UTF_8));
            v.setValueCount(texts.size());
            root.setRowCount(texts.size());
            try (var w = new org.apache.arrow.vector.ipc.ArrowStreamWriter(root, null, java.nio.channels.Channels.newChannel(out))) {
                w.start();
                w.writeBatch();
                w.end();
            }
        }
    }

    @Test
    void usageErrorsAndAModelWithoutWeights() throws IOException {
        assertEquals(2, Run.of("tune").rc());
        assertEquals(2, Run.of("tune", "--print-recipe", "--set", "lora.rank=4").rc());
        Run missing = Run.of("tune", dir.resolve("nope.yaml").toString(), "--dry-run");
        assertEquals(3, missing.rc());
        assertTrue(missing.err().contains("no such recipe file"), missing.err());
        Files.writeString(dir.resolve("t.jsonl"), CHAT);
        Run r = Run.of("tune", recipe("model: " + model() + "\ndata: {train: t.jsonl}\n").toString());
        // A vocabulary-only GGUF has no weights to train on: a bad-input error that names the file.
        assertEquals(3, r.rc(), r.err());
        assertTrue(r.err().contains("ggml-vocab-qwen3.gguf"), r.err());
    }

    /** The quickstart on the committed base model, shortened: it learns, and the adapter files appear. */
    @Test
    void quickstart_learnsTheHospitalFacts() throws IOException {
        Path recipe = Path.of("..", "recipes", "quickstart.yaml").toAbsolutePath().normalize();
        Path out = dir.resolve("qs");
        Run r = Run.of("tune", recipe.toString(), "--set", "train.epochs=10", "--set", "output=" + out);
        assertEquals(0, r.rc(), r.err());
        var loss = java.util.regex.Pattern.compile("validation loss ([0-9.]+) -> best ([0-9.]+)").matcher(r.out());
        assertTrue(loss.find(), r.out());
        double before = Double.parseDouble(loss.group(1)), best = Double.parseDouble(loss.group(2));
        // The base model has never seen these facts (about 2.1 nats per answer token); ten epochs of LoRA
        // bring the held-out phrasings well below that (1.1 measured; the run is deterministic).
        assertTrue(best < before - 0.5, before + " -> " + best);
        var em = java.util.regex.Pattern.compile("exact match: before (\\d+)/36 .*, after (\\d+)/36").matcher(r.out());
        assertTrue(em.find(), r.out());
        assertEquals(0, Integer.parseInt(em.group(1)), "the base model cannot know the hospital's facts");
        for (String f : List.of("adapter.gguf", "best-adapter.gguf", "metrics.jsonl", "peft/adapter_model.safetensors",
                "peft/adapter_config.json"))
            assertTrue(Files.isRegularFile(out.resolve(f)), f);
    }
}
