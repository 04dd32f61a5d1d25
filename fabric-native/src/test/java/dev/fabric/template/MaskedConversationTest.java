package dev.fabric.template;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fabric.gguf.GgufArray;
import dev.fabric.gguf.GgufMetadata;
import dev.fabric.gguf.GgufValue;
import dev.fabric.gguf.GgufValueType;
import dev.fabric.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Loss masks on real renderings and a real BPE vocabulary (Qwen3's, from the reference GGUF). Each check
 * decodes the masked tokens with the tokenizer, run by run, and compares them with the assistant replies
 * written out by hand (answer, reasoning block where the template renders it, end-of-turn token), and
 * checks that the unmasked runs are everything else, so that nothing is masked twice or lost.
 */
class MaskedConversationTest {
    private static final String END = "<|im_end|>";

    /** The decoded runs of consecutive tokens whose mask equals {@code masked}. */
    private static List<String> runs(MaskedConversation mc, Tokenizer tok, boolean masked) {
        List<String> out = new ArrayList<>();
        int k = 0;
        while (k < mc.ids().length) {
            if (mc.mask()[k] != masked) {
                k++;
                continue;
            }
            int j = k;
            while (j < mc.ids().length && mc.mask()[j] == masked) j++;
            out.add(tok.decode(Arrays.copyOfRange(mc.ids(), k, j)));
            k = j;
        }
        return out;
    }

    /** Checks the whole masked conversation against the hand-written replies; returns it for further checks. */
    private static MaskedConversation check(ChatTemplate t, Tokenizer tok, List<ChatMessage> msgs,
            Map<String, Object> extra, List<String> expectedReplies) {
        MaskedConversation mc = MaskedConversation.of(t, tok, msgs, extra);
        assertEquals(t.render(msgs, false, extra), mc.text());
        // Tokenized once, whole, as the model sees it at inference.
        assertArrayEquals(tok.encode(mc.text(), false, true), mc.ids());
        assertEquals(expectedReplies, runs(mc, tok, true));
        assertEquals(expectedReplies, mc.maskedRuns());
        // Masked and unmasked runs interleave back into the text.
        List<String> plain = runs(mc, tok, false);
        StringBuilder rebuilt = new StringBuilder();
        for (int i = 0; i < plain.size(); i++) {
            rebuilt.append(plain.get(i));
            if (i < expectedReplies.size()) rebuilt.append(expectedReplies.get(i));
        }
        assertEquals(mc.text(), rebuilt.toString());
        return mc;
    }

    @Test
    void qwen3MultiTurnThinking() {
        MaskedConversation mc = check(Qwen3Ref.template(), Qwen3Ref.tokenizer(), Qwen3Ref.TWO_TURNS_REASONING, null,
                List.of("4" + END, "<think>\nAdd three and three.\n</think>\n\n6" + END));
        Tokenizer tok = Qwen3Ref.tokenizer();
        // Scaffolding around each reply: "<|im_start|>assistant\n" before, "\n" after, all unmasked.
        int im_end = tok.tokenId(END), im_start = tok.tokenId("<|im_start|>");
        for (int k = 0; k < mc.ids().length; k++) {
            if (mc.ids()[k] == im_start) assertFalse(mc.mask()[k]);
            if (mc.ids()[k] == im_end && mc.mask()[k]) assertEquals("\n", tok.decode(new int[] {mc.ids()[k + 1]}));
        }
        // <think> and </think> are single tokens of the vocabulary, masked with the reasoning.
        int think = tok.tokenId("<think>");
        assertTrue(think >= 0);
        for (int k = 0; k < mc.ids().length; k++) if (mc.ids()[k] == think) assertTrue(mc.mask()[k]);
    }

    @Test
    void qwen3ThinkingOffLeavesThePrefilledThinkBlockUnmasked() {
        check(Qwen3Ref.template(), Qwen3Ref.tokenizer(), Qwen3Ref.NO_REASONING, Qwen3Ref.NO_THINKING,
                List.of("Yes." + END, "You're welcome." + END));
        check(Qwen3Ref.template(), Qwen3Ref.tokenizer(), Qwen3Ref.NO_REASONING, null,
                List.of("Yes." + END, "<think>\n\n</think>\n\nYou're welcome." + END));
    }

    @Test
    void qwen3ReasoningInContentAndToolCalls() {
        check(Qwen3Ref.template(), Qwen3Ref.tokenizer(), Qwen3Ref.THINK_IN_CONTENT, null,
                List.of("Yes." + END, "<think>\n1 kg is 2.2 lb.\n</think>\n\nAbout 1.2 lb." + END));
        check(Qwen3Ref.template(), Qwen3Ref.tokenizer(), Qwen3Ref.TOOL_CALLS, null, List.of(
                "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>" + END,
                "<think>\n\n</think>\n\nIt is 18 °C." + END));
    }

    /**
     * No Llama 3 vocabulary is among the references, so Llama 3's control tokens are added to Qwen3's BPE
     * vocabulary (same byte-level scheme), with {@code <|begin_of_text|>} as BOS and add_bos on: the format
     * and the masks are Llama 3's, and BOS, which the template writes, must not be added twice.
     */
    @Test
    void llama3OnABpeVocabularyWithItsControlTokens() {
        Tokenizer tok = llama3Like();
        List<ChatMessage> msgs = List.of(ChatMessage.system("You are terse."), ChatMessage.user("Hi?"),
                ChatMessage.assistant("Hello! How can I help?"), ChatMessage.user("2+2?"), ChatMessage.assistant("4"));
        MaskedConversation mc = check(ChatTemplate.named("llama3"), tok, msgs, null,
                List.of("Hello! How can I help?<|eot_id|>", "4<|eot_id|>"));
        assertEquals(tok.bosId(), mc.ids()[0]);
        assertTrue(mc.ids()[1] != tok.bosId());
        // ChatML text does not start with BOS: the vocabulary's add_bos puts one in front, unmasked.
        MaskedConversation ml = MaskedConversation.of(ChatTemplate.named("chatml"), tok, msgs.subList(0, 3), null);
        assertEquals(tok.bosId(), ml.ids()[0]);
        assertEquals(0, ml.starts()[0]);
        assertFalse(ml.mask()[0]);
        assertEquals(List.of("Hello! How can I help?<|im_end|>"), runs(ml, tok, true));
    }

    private static Tokenizer llama3Like() {
        GgufMetadata md = Qwen3Ref.metadata();
        List<String> tokens = new ArrayList<>(md.getStringArray("tokenizer.ggml.tokens"));
        int[] types = md.getIntArray("tokenizer.ggml.token_type");
        int first = tokens.size();
        List<String> added = List.of("<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>");
        tokens.addAll(added);
        int[] moreTypes = Arrays.copyOf(types, tokens.size());
        Arrays.fill(moreTypes, first, tokens.size(), 3); // CONTROL
        GgufMetadata llama = md.toBuilder()
                .replace("tokenizer.ggml.tokens", new GgufValue(GgufValueType.ARRAY, GgufArray.ofStrings(tokens)))
                .replace("tokenizer.ggml.token_type", new GgufValue(GgufValueType.ARRAY,
                        GgufArray.of(GgufValueType.INT32, moreTypes)))
                .putU32("tokenizer.ggml.bos_token_id", first)
                .replace("tokenizer.ggml.add_bos_token", GgufValue.bool(true))
                .build();
        return Tokenizer.fromGguf(llama);
    }

    @Test
    void displayMarksTheTrainedText() {
        List<ChatMessage> msgs = List.of(ChatMessage.user("Hi"), ChatMessage.assistant("Hello"));
        MaskedConversation mc = MaskedConversation.of(ChatTemplate.named("chatml"), Qwen3Ref.tokenizer(), msgs, null);
        assertEquals("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n[[Hello<|im_end|>]]\n", mc.formatText(false));
        assertTrue(mc.formatText(true).contains("\u001b[32mHello<|im_end|>\u001b[0m"));
        String table = mc.formatTokens();
        assertEquals(mc.ids().length, table.lines().count());
        assertTrue(table.lines().anyMatch(l -> l.contains(" + \"Hello\"")), table);
        assertTrue(table.lines().anyMatch(l -> l.contains(" . \"\\n\"")), table);
        assertEquals(2, mc.maskedCount());
    }
}
