package dev.fabric.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fabric.recipe.Recipe;
import dev.fabric.recipe.RecipeLoader;
import dev.fabric.template.ChatTemplate;
import dev.fabric.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A stage's data end to end on Qwen3's vocabulary: report, overlong rows, the malformed limit, splits. */
class DatasetTest {
    @TempDir
    Path dir;

    private static String chat(String q, String a) {
        return "{\"messages\": [{\"role\": \"user\", \"content\": \"" + q + "\"}, {\"role\": \"assistant\", \"content\": \""
                + a + "\"}]}\n";
    }

    private Recipe recipe(String data, String... sets) throws IOException {
        Path model = Vocabs.qwen3Path();
        Path f = dir.resolve("recipe.yaml");
        Files.writeString(f, "model: " + model + "\n" + data);
        return RecipeLoader.load(f, List.of(sets));
    }

    private Dataset load(Recipe r) {
        Tokenizer tok = Vocabs.qwen3();
        ChatTemplate t = Templates.forRecipe(r, Vocabs.qwen3Metadata(), tok);
        return Dataset.load(r, r.stages().get(0), tok, new ExampleEncoder(tok, t, Map.of()), r.model());
    }

    private void write(String name, String text) throws IOException {
        Files.writeString(dir.resolve(name), text);
    }

    @Test
    void reportCountsFormatsDropsTokensAndShowsTwoExamples() throws IOException {
        String longAnswer = "word ".repeat(200).strip();
        write("chat.jsonl", chat("Hi?", "Hello.") + chat("2+2?", "4") + "{not json\n" + chat("Essay?", longAnswer)
                + "{\"messages\": [{\"role\": \"user\", \"content\": \"Only a question\"}]}\n");
        write("alpaca.jsonl", "{\"instruction\": \"Say hi.\", \"output\": \"hi\"}\n");
        Recipe r = recipe("data: {train: [chat.jsonl, alpaca.jsonl], max_malformed: 0.5}\ntrain: {context: 64}\n",
                "template=chatml");
        Dataset ds = load(r);
        DataReport rep = ds.report();
        assertEquals(3, rep.trainExamples());
        assertEquals(Map.of(Recipe.Format.MESSAGES, 2, Recipe.Format.ALPACA, 1), rep.perFormat());
        assertEquals(Map.of("longer than the context (64 tokens)", 1, "no assistant reply to train on", 1), rep.dropped());
        assertEquals(1, rep.malformed().size());
        assertTrue(rep.malformed().get(0).toString().startsWith("chat.jsonl:3: invalid JSON"), rep.malformed().toString());
        // The report's totals are the examples' own.
        long tokens = ds.train().stream().mapToLong(Example::size).sum();
        long trained = ds.train().stream().mapToLong(Example::trainedCount).sum();
        assertEquals(tokens, rep.tokens());
        assertEquals(trained, rep.trainedTokens());
        String text = rep.format(false);
        assertTrue(text.contains("chat.jsonl") && text.contains("messages  (detected)"), text);
        assertTrue(text.contains("alpaca.jsonl") && text.contains("alpaca    (detected)"), text);
        assertTrue(text.contains("chat.jsonl:3: invalid JSON"), text);
        assertTrue(text.contains("longer than the context (64 tokens)"), text);
        assertTrue(text.contains("<|im_start|>assistant\n[[Hello.<|im_end|>]]\n"), text);
        // The second example shown is of the other format.
        assertTrue(text.contains("example 2 (alpaca.jsonl:1, alpaca)"), text);
        assertTrue(text.contains("[[hi<|im_end|>]]"), text);
        assertFalse(rep.format(true).contains("[["));
    }

    @Test
    void overlongRowsAreTruncatedWhenTheRecipeSaysSo() throws IOException {
        write("t.jsonl", "{\"text\": \"" + "one two three ".repeat(40) + "\"}\n{\"text\": \"short\"}\n");
        Recipe r = recipe("data: {train: t.jsonl, overlong: truncate}\ntrain: {context: 32}\n");
        DataReport rep = load(r).report();
        assertEquals(2, rep.trainExamples());
        assertEquals(1, rep.truncated());
        assertTrue(rep.dropped().isEmpty());
        Dataset ds = load(r);
        assertEquals(32, ds.train().get(0).size());
        assertEquals(31, ds.train().get(0).trainedCount());
    }

    @Test
    void tooManyMalformedRowsStopTheRunWithTheirList() throws IOException {
        write("bad.jsonl", chat("a", "b") + "{\n" + chat("c", "d") + "[]\n" + "{\"messages\": 3}\n");
        Recipe r = recipe("data: {train: bad.jsonl, max_malformed: 0.2}\n", "template=chatml");
        DataException e = assertThrows(DataException.class, () -> load(r));
        assertEquals("3 of 5 rows are malformed, more than data.max_malformed (0.2 = 1 rows):\n"
                + "  bad.jsonl:2: invalid JSON at column 2: Unexpected end-of-input: expected close marker for Object\n"
                + "  bad.jsonl:4: expected a JSON object, got an array\n"
                + "  bad.jsonl:5: \"messages\": expected an array of {role, content}, got a number", e.getMessage());
    }

    @Test
    void aTemplateThatRejectsARowMakesItMalformed() throws IOException {
        // Gemma's format has no tool turns: the row is reported, not the run stopped (within the limit).
        write("g.jsonl", chat("a", "b") + chat("c", "d") + "{\"messages\": [{\"role\": \"user\", \"content\": \"w\"},"
                + " {\"role\": \"tool\", \"content\": \"18\"}, {\"role\": \"assistant\", \"content\": \"ok\"}]}\n");
        Recipe r = recipe("data: {train: g.jsonl, max_malformed: 0.5}\n", "template=gemma");
        DataReport rep = load(r).report();
        assertEquals(2, rep.trainExamples());
        assertEquals("g.jsonl:3", rep.malformed().get(0).where());
        assertTrue(rep.malformed().get(0).message().contains("Gemma templates know only user and assistant turns"),
                rep.malformed().get(0).message());
    }

    @Test
    void conversationsNeedATemplate() throws IOException {
        write("c.jsonl", chat("a", "b"));
        Recipe r = recipe("data: {train: c.jsonl}\n");
        Tokenizer tok = Vocabs.qwen3();
        DataException e = assertThrows(DataException.class, () -> Dataset.load(r, r.stages().get(0), tok,
                new ExampleEncoder(tok, null, Map.of()), Path.of("m.gguf")));
        assertEquals("m.gguf: the model has no chat template (tokenizer.chat_template) and the recipe sets none, so"
                + " conversation rows cannot be rendered (first one at c.jsonl:1); set template: to one of chatml,"
                + " qwen3, llama3, gemma, or a .jinja file", e.getMessage());
    }

    @Test
    void validationRowsAreHeldOutBySeedAndEpochsAreReproducible() throws IOException {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 40; i++) sb.append(chat("q" + i, "a" + i));
        write("c.jsonl", sb.toString());
        Recipe r = recipe("data: {train: c.jsonl, valid_fraction: 0.1}\ntrain: {batch: 4, pack: true, context: 128}\n");
        Dataset a = load(r), b = load(r);
        assertEquals(36, a.train().size());
        assertEquals(4, a.valid().size());
        assertEquals(a.valid().stream().map(Example::where).toList(), b.valid().stream().map(Example::where).toList());
        List<Batch> e0 = a.epoch(0), again = b.epoch(0), e1 = a.epoch(1);
        assertEquals(e0.size(), again.size());
        for (int i = 0; i < e0.size(); i++) assertArrayEquals(e0.get(i).tokens(), again.get(i).tokens());
        assertFalse(java.util.Arrays.equals(e0.get(0).tokens(), e1.get(0).tokens()), "epochs are shuffled apart");
        assertEquals(36, e0.stream().mapToInt(Batch::examples).sum());
        Dataset other = load(recipe("data: {train: c.jsonl, valid_fraction: 0.1}\nseed: 5\n"));
        assertFalse(other.valid().stream().map(Example::where).toList()
                .equals(a.valid().stream().map(Example::where).toList()), "another seed holds out other rows");
    }

    @Test
    void aJinjaFileTemplateAndAValidationFile() throws IOException {
        write("mine.jinja", "{%- for m in messages %}{{ '<|im_start|>' ~ m.role ~ '\\n' ~ m.content ~ '<|im_end|>\\n' }}"
                + "{%- endfor %}{%- if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{%- endif %}");
        write("t.jsonl", chat("a", "b"));
        write("v.jsonl", chat("c", "d") + chat("e", "f"));
        Recipe r = recipe("template: mine.jinja\ndata: {train: t.jsonl, valid: v.jsonl}\n");
        Dataset ds = load(r);
        assertEquals(1, ds.train().size());
        assertEquals(2, ds.valid().size());
        assertTrue(ds.report().format(false).contains("<|im_start|>assistant\n[[b<|im_end|>]]"), ds.report().format(false));
        assertTrue(ds.report().format(false).contains("validation: 2 rows from v.jsonl"), ds.report().format(false));
        assertEquals(2, ds.validBatches().size(), "one example per batch (train.batch 1)");
    }

    /**
     * Qwen3 drops the reasoning of replies before the last user message; split_turns makes one example per
     * reply, so both reasoning blocks are trained (each example trains only its own reply). thinking: off
     * passes enable_thinking=false to the template.
     */
    @Test
    void splitTurnsTrainsEveryReasoningBlockAndThinkingOffReachesTheTemplate() throws IOException {
        String row = "{\"messages\": [{\"role\": \"user\", \"content\": \"2+2?\"}, {\"role\": \"assistant\","
                + " \"content\": \"4\", \"reasoning_content\": \"Add two and two.\"}, {\"role\": \"user\", \"content\":"
                + " \"3+3?\"}, {\"role\": \"assistant\", \"content\": \"6\", \"reasoning_content\": \"Add three.\"}]}\n";
        write("r.jsonl", row);
        Tokenizer tok = Vocabs.qwen3();
        Dataset whole = load(recipe("data: {train: r.jsonl}\n"));
        assertEquals(1, whole.train().size());
        Dataset split = load(recipe("data: {train: r.jsonl, split_turns: true}\n"));
        assertEquals(2, split.train().size());
        assertEquals(List.of("<think>\nAdd two and two.\n</think>\n\n4<|im_end|>"), trained(split.train().get(0), tok));
        assertEquals(List.of("<think>\nAdd three.\n</think>\n\n6<|im_end|>"), trained(split.train().get(1), tok));
        write("p.jsonl", chat("Hi", "Hello"));
        Dataset off = load(recipe("data: {train: p.jsonl, thinking: 'off'}\n"));
        assertEquals(List.of("Hello<|im_end|>"), trained(off.train().get(0), tok));
        Dataset auto = load(recipe("data: {train: p.jsonl}\n"));
        assertEquals(List.of("<think>\n\n</think>\n\nHello<|im_end|>"), trained(auto.train().get(0), tok));
    }

    /** The trained targets of an example, decoded run by run. */
    private static List<String> trained(Example e, Tokenizer tok) {
        List<String> runs = new java.util.ArrayList<>();
        List<Integer> run = new java.util.ArrayList<>();
        for (int t = 0; t <= e.size(); t++) {
            if (t < e.size() && e.targets()[t] >= 0) {
                run.add(e.targets()[t]);
            } else if (!run.isEmpty()) {
                runs.add(tok.decode(run.stream().mapToInt(Integer::intValue).toArray(), true));
                run.clear();
            }
        }
        return runs;
    }
}
