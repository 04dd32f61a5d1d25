package dev.fabric.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fabric.recipe.Recipe.Format;
import dev.fabric.template.ChatMessage;
import dev.fabric.template.ChatTemplate;
import dev.fabric.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The loss mask through the data pipeline (row, template, tokens, targets) on multi-turn conversations under
 * Qwen3's own template (from its GGUF), Llama 3, Gemma and ChatML. The expected rendered texts and trained
 * spans are written out by hand from each format's definition: the trained tokens are exactly each assistant
 * reply and its end-of-turn token; the turn headers, the user and system turns and the newline after an
 * end-of-turn token are not.
 */
class MaskTest {
    private static final List<ChatMessage> CHAT = List.of(
            ChatMessage.system("You are terse."),
            ChatMessage.user("Hi?"),
            ChatMessage.assistant("Hello! How can I help?"),
            ChatMessage.user("2+2?"),
            ChatMessage.assistant("4"));

    /**
     * Encodes the conversation as a training example and checks the rendered text, then the targets: decoded
     * run by run they must be the expected replies, and every position outside them must have target -1.
     */
    private static void check(ChatTemplate t, Tokenizer tok, List<ChatMessage> chat, Map<String, Object> vars,
            String rendered, List<String> trained) {
        ExampleEncoder enc = new ExampleEncoder(tok, t, vars);
        Row row = new Row("test:1", "test", Format.MESSAGES, chat, null);
        ExampleEncoder.Encoded e = enc.encode(row);
        assertEquals(rendered, e.conversation().text());
        Example ex = Example.of("test:1", "test", Format.MESSAGES, e.ids(), e.mask(), Integer.MAX_VALUE);
        List<String> runs = new ArrayList<>();
        List<Integer> run = new ArrayList<>();
        for (int p = 0; p < ex.size(); p++) {
            if (ex.targets()[p] >= 0) {
                assertEquals(ex.tokens()[p + 1], ex.targets()[p], "a target is the next token");
                run.add(ex.targets()[p]);
            } else if (!run.isEmpty()) {
                runs.add(tok.decode(run.stream().mapToInt(Integer::intValue).toArray(), true));
                run.clear();
            }
        }
        if (!run.isEmpty()) runs.add(tok.decode(run.stream().mapToInt(Integer::intValue).toArray(), true));
        assertEquals(trained, runs);
        assertEquals(-1, ex.targets()[ex.size() - 1]);
        // The whole text is tokenized once, as the model sees it at inference.
        int[] whole = tok.encode(rendered, false, true);
        int[] ids = ex.tokens();
        if (ids.length == whole.length + 1) ids = Arrays.copyOfRange(ids, 1, ids.length); // BOS added by the vocabulary
        assertTrue(Arrays.equals(whole, ids));
    }

    @Test
    void chatml() {
        check(ChatTemplate.named("chatml"), Vocabs.qwen3(), CHAT, null,
                "<|im_start|>system\nYou are terse.<|im_end|>\n"
                        + "<|im_start|>user\nHi?<|im_end|>\n"
                        + "<|im_start|>assistant\nHello! How can I help?<|im_end|>\n"
                        + "<|im_start|>user\n2+2?<|im_end|>\n"
                        + "<|im_start|>assistant\n4<|im_end|>\n",
                List.of("Hello! How can I help?<|im_end|>", "4<|im_end|>"));
    }

    @Test
    void llama3() {
        check(ChatTemplate.named("llama3"), Vocabs.llama3(), CHAT, null,
                "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are terse.<|eot_id|>"
                        + "<|start_header_id|>user<|end_header_id|>\n\nHi?<|eot_id|>"
                        + "<|start_header_id|>assistant<|end_header_id|>\n\nHello! How can I help?<|eot_id|>"
                        + "<|start_header_id|>user<|end_header_id|>\n\n2+2?<|eot_id|>"
                        + "<|start_header_id|>assistant<|end_header_id|>\n\n4<|eot_id|>",
                List.of("Hello! How can I help?<|eot_id|>", "4<|eot_id|>"));
    }

    @Test
    void gemma() {
        check(ChatTemplate.named("gemma"), Vocabs.gemma(), CHAT, null,
                "<bos><start_of_turn>user\nYou are terse.\n\nHi?<end_of_turn>\n"
                        + "<start_of_turn>model\nHello! How can I help?<end_of_turn>\n"
                        + "<start_of_turn>user\n2+2?<end_of_turn>\n"
                        + "<start_of_turn>model\n4<end_of_turn>\n",
                List.of("Hello! How can I help?<end_of_turn>", "4<end_of_turn>"));
    }

    /**
     * Qwen3's own template: a reply's reasoning is rendered (and so trained) only for turns after the last user
     * message; the earlier reply is rendered without it. The last reply's think block is inside the reply.
     */
    @Test
    void qwen3WithReasoning() {
        List<ChatMessage> chat = List.of(
                ChatMessage.system("You are terse."),
                ChatMessage.user("What is 2+2?"),
                ChatMessage.assistant("4", "Add two and two."),
                ChatMessage.user("And 3+3?"),
                ChatMessage.assistant("6", "Add three and three."));
        check(ChatTemplate.fromGguf(Vocabs.qwen3Metadata()), Vocabs.qwen3(), chat, null,
                "<|im_start|>system\nYou are terse.<|im_end|>\n"
                        + "<|im_start|>user\nWhat is 2+2?<|im_end|>\n"
                        + "<|im_start|>assistant\n4<|im_end|>\n"
                        + "<|im_start|>user\nAnd 3+3?<|im_end|>\n"
                        + "<|im_start|>assistant\n<think>\nAdd three and three.\n</think>\n\n6<|im_end|>\n",
                List.of("4<|im_end|>", "<think>\nAdd three and three.\n</think>\n\n6<|im_end|>"));
    }

    /** Qwen3 with thinking off: the empty think block the template pre-fills is prompt, not reply. */
    @Test
    void qwen3ThinkingOff() {
        check(ChatTemplate.fromGguf(Vocabs.qwen3Metadata()), Vocabs.qwen3(), CHAT, Map.of("enable_thinking", false),
                "<|im_start|>system\nYou are terse.<|im_end|>\n"
                        + "<|im_start|>user\nHi?<|im_end|>\n"
                        + "<|im_start|>assistant\nHello! How can I help?<|im_end|>\n"
                        + "<|im_start|>user\n2+2?<|im_end|>\n"
                        + "<|im_start|>assistant\n<think>\n\n</think>\n\n4<|im_end|>\n",
                List.of("Hello! How can I help?<|im_end|>", "4<|im_end|>"));
    }

    /** A text row: every token after the first is trained, EOS included. */
    @Test
    void textRowsTrainEveryToken() {
        Tokenizer tok = Vocabs.qwen3();
        ExampleEncoder enc = new ExampleEncoder(tok, null, null);
        ExampleEncoder.Encoded e = enc.encode(new Row("t:1", "t", Format.TEXT, null, "The cat sat."));
        Example ex = Example.of("t:1", "t", Format.TEXT, e.ids(), e.mask(), 1 << 20);
        assertEquals(tok.eosId(), ex.tokens()[ex.size() - 1]);
        assertEquals(ex.size() - 1, ex.trainedCount());
        assertEquals("The cat sat.", tok.decode(Arrays.copyOf(ex.tokens(), ex.size() - 1)));
        // Control-token text in a text row is plain text, not a control token.
        ExampleEncoder.Encoded c = enc.encode(new Row("t:2", "t", Format.TEXT, null, "<|im_end|>"));
        assertTrue(c.ids().length > 2, Arrays.toString(c.ids()));
    }
}
