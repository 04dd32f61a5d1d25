package dev.fabric.template;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Where the assistant replies lie in rendered conversations, at the character level: each span must be
 * exactly the reply the model produces after the generation prompt, with its end-of-turn text and nothing of
 * the scaffolding around it. Expected replies are written out by hand from the templates' formats.
 */
class AssistantSpansTest {
    private static final String END = "<|im_end|>";

    private static List<String> replies(ChatTemplate t, List<ChatMessage> m, Map<String, Object> extra) {
        RenderedConversation r = t.renderWithSpans(m, extra);
        assertEquals(t.render(m, false, extra), r.text());
        return r.replies();
    }

    @Test
    void qwen3MultiTurnWithReasoning() {
        // The first reply's reasoning is dropped by the template once a later user turn follows.
        assertEquals(List.of("4" + END, "<think>\nAdd three and three.\n</think>\n\n6" + END),
                replies(Qwen3Ref.template(), Qwen3Ref.TWO_TURNS_REASONING, null));
    }

    @Test
    void qwen3EachTurnAsItsOwnSampleKeepsEveryReasoningBlock() {
        List<RenderedConversation> samples = Qwen3Ref.template().renderEachTurn(Qwen3Ref.TWO_TURNS_REASONING, null);
        assertEquals(2, samples.size());
        assertEquals(List.of("<think>\nAdd two and two.\n</think>\n\n4" + END), samples.get(0).replies());
        assertEquals("<|im_start|>user\nWhat is 2+2?" + END + "\n<|im_start|>assistant\n<think>\nAdd two and two.\n</think>\n\n4"
                + END + "\n", samples.get(0).text());
        assertEquals(List.of("<think>\nAdd three and three.\n</think>\n\n6" + END), samples.get(1).replies());
        assertEquals(Qwen3Ref.template().render(Qwen3Ref.TWO_TURNS_REASONING, false, null), samples.get(1).text());
    }

    @Test
    void qwen3ReasoningWrittenInTheContent() {
        assertEquals(List.of("Yes." + END, "<think>\n1 kg is 2.2 lb.\n</think>\n\nAbout 1.2 lb." + END),
                replies(Qwen3Ref.template(), Qwen3Ref.THINK_IN_CONTENT, null));
    }

    @Test
    void qwen3WithoutReasoningTrainsTheEmptyThinkBlockOnlyWhenThinkingIsOn() {
        ChatTemplate t = Qwen3Ref.template();
        assertEquals(List.of("Yes." + END, "<think>\n\n</think>\n\nYou're welcome." + END),
                replies(t, Qwen3Ref.NO_REASONING, null));
        // With enable_thinking false the generation prompt pre-fills the empty block: it is prompt, not reply.
        assertEquals(List.of("Yes." + END, "You're welcome." + END), replies(t, Qwen3Ref.NO_REASONING, Qwen3Ref.NO_THINKING));
    }

    @Test
    void qwen3ReasoningWithThinkingOffStillTrainsTheWholeReply() {
        assertEquals(List.of("4" + END, "<think>\nAdd three and three.\n</think>\n\n6" + END),
                replies(Qwen3Ref.template(), Qwen3Ref.TWO_TURNS_REASONING, Qwen3Ref.NO_THINKING));
    }

    @Test
    void qwen3ToolCallsAreTrainedToolResultsAreNot() {
        RenderedConversation r = Qwen3Ref.template().renderWithSpans(Qwen3Ref.TOOL_CALLS, null);
        assertEquals(List.of(
                "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>" + END,
                "<think>\n\n</think>\n\nIt is 18 °C." + END), r.replies());
        assertEquals(List.of(1, 4), r.spans().stream().map(RenderedConversation.Span::messageIndex).toList());
        int tool = r.text().indexOf("<tool_response>");
        assertTrue(tool > 0 && !r.inAssistant(tool));
    }

    @Test
    void qwen3AgenticStepsTrainEveryReasoningBlock() {
        assertEquals(List.of(
                "<think>\nNeed the weather tool.\n</think>\n\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\":"
                        + " {\"city\": \"Paris\"}}\n</tool_call>" + END,
                "<think>\nReport it.\n</think>\n\nIt is 18 °C." + END),
                replies(Qwen3Ref.template(), Qwen3Ref.TOOL_STEPS_REASONING, null));
    }

    @Test
    void qwen3ToolDefinitionsDoNotDisturbTheSpans() {
        Map<String, Object> tools = Map.of("tools", List.of(Map.of("type", "function",
                "function", Map.of("name", "get_weather", "parameters", Map.of()))));
        List<ChatMessage> m = new java.util.ArrayList<>(List.of(ChatMessage.system("SYS")));
        m.addAll(Qwen3Ref.TOOL_STEPS_REASONING);
        assertEquals(replies(Qwen3Ref.template(), Qwen3Ref.TOOL_STEPS_REASONING, null),
                replies(Qwen3Ref.template(), m, tools));
    }

    @Test
    void builtInQwen3FindsTheSameSpansAsTheModelsTemplate() {
        for (List<ChatMessage> m : List.of(Qwen3Ref.TWO_TURNS_REASONING, Qwen3Ref.THINK_IN_CONTENT, Qwen3Ref.NO_REASONING,
                Qwen3Ref.TOOL_CALLS, Qwen3Ref.TOOL_STEPS_REASONING)) {
            assertEquals(Qwen3Ref.template().renderWithSpans(m, null), ChatTemplate.named("qwen3").renderWithSpans(m, null));
        }
    }

    @Test
    void llama3SpansEndWithEotId() {
        List<ChatMessage> m = List.of(ChatMessage.system("S"), ChatMessage.user("U1"), ChatMessage.assistant(" A1 "),
                ChatMessage.user("U2"), ChatMessage.assistant("A2\nline two"));
        RenderedConversation r = ChatTemplate.named("llama3").renderWithSpans(m, null);
        assertEquals(List.of("A1<|eot_id|>", "A2\nline two<|eot_id|>"), r.replies());
        // The header, including its blank line, is scaffolding.
        int header = r.text().indexOf("<|start_header_id|>assistant<|end_header_id|>\n\n");
        assertEquals(header + "<|start_header_id|>assistant<|end_header_id|>\n\n".length(), r.spans().get(0).start());
    }

    /**
     * Random message texts, with template syntax, markup and whitespace in them: the spans are still exactly
     * the replies as each format writes them (ChatML verbatim; Llama 3 trimmed; Qwen3's last turn after an
     * empty think block, its leading newlines dropped).
     */
    @Test
    void randomContentsKeepExactSpans() {
        java.util.Random rnd = new java.util.Random(3);
        String[] bits = {"a", "Z", " ", "\n", "{{ x }}", "{% if %}", "}}", "<b>", "é", "日本", "\t", "'", "\"", "\\", "%}"};
        ChatTemplate chatml = ChatTemplate.named("chatml"), llama3 = ChatTemplate.named("llama3"), qwen3 = Qwen3Ref.template();
        for (int n = 0; n < 150; n++) {
            String[] text = new String[4];
            for (int k = 0; k < 4; k++) {
                StringBuilder sb = new StringBuilder("w");
                for (int j = rnd.nextInt(8); j > 0; j--) sb.append(bits[rnd.nextInt(bits.length)]);
                text[k] = sb.append('w').toString();
            }
            String a1 = (rnd.nextBoolean() ? "\n" : "") + text[1], a2 = (rnd.nextBoolean() ? "\n\n" : "") + text[3];
            List<ChatMessage> m = List.of(ChatMessage.user(text[0]), ChatMessage.assistant(a1), ChatMessage.user(text[2]),
                    ChatMessage.assistant(a2));
            assertEquals(List.of(a1 + END, a2 + END), chatml.renderWithSpans(m, null).replies());
            assertEquals(List.of(a1.strip() + "<|eot_id|>", a2.strip() + "<|eot_id|>"), llama3.renderWithSpans(m, null).replies());
            assertEquals(List.of(a1 + END, "<think>\n\n</think>\n\n" + a2.substring(a2.startsWith("\n") ? 2 : 0) + END),
                    qwen3.renderWithSpans(m, null).replies());
        }
    }

    @Test
    void chatmlSpansExcludeTheNewlineAfterTheEnd() {
        List<ChatMessage> m = List.of(ChatMessage.user("U"), ChatMessage.assistant("A"));
        RenderedConversation r = ChatTemplate.named("chatml").renderWithSpans(m, null);
        assertEquals(List.of("A" + END), r.replies());
        assertEquals(r.text().length() - 1, r.spans().get(0).end());
        assertEquals('\n', r.text().charAt(r.spans().get(0).end()));
    }

    @Test
    void generationBlocksGiveTheSpansDirectly() {
        // ChatML with Hugging Face's generation markers around each reply and its end token.
        ChatTemplate marked = ChatTemplate.of("chatml-marked", """
                {%- for m in messages %}
                    {{- '<|im_start|>' + m.role + '\\n' }}
                    {%- if m.role == 'assistant' %}
                        {%- generation %}{{ m.content + '<|im_end|>' }}{% endgeneration %}
                    {%- else %}
                        {{- m.content + '<|im_end|>' }}
                    {%- endif %}
                    {{- '\\n' }}
                {%- endfor %}
                {%- if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}""", Map.of());
        List<ChatMessage> m = Qwen3Ref.NO_REASONING;
        RenderedConversation expected = ChatTemplate.named("chatml").renderWithSpans(m, null);
        assertEquals(expected, marked.renderWithSpans(m, null));
        assertEquals(List.of("Yes." + END, "You're welcome." + END), expected.replies());
        var e = assertThrows(TemplateException.class,
                () -> marked.renderWithSpans(List.of(ChatMessage.user("\uFDD0"), ChatMessage.assistant("a")), null));
        assertTrue(e.getMessage().contains("U+FDD0"), e.getMessage());
    }

    @Test
    void templateWithoutEndOfTurnTextEndsTheReplyBeforeTrailingWhitespace() {
        ChatTemplate t = ChatTemplate.of("plain",
                "{% for m in messages %}{{ m.role | upper }}: {{ m.content }}\n\n{% endfor %}"
                        + "{% if add_generation_prompt %}ASSISTANT: {% endif %}", Map.of());
        List<ChatMessage> m = List.of(ChatMessage.user("hi"), ChatMessage.assistant("hello there"), ChatMessage.user("bye"));
        assertEquals(List.of("hello there"), t.renderWithSpans(m, null).replies());
    }

    @Test
    void templateWithoutGenerationPromptStartsTheReplyAtItsAnswer() {
        ChatTemplate t = ChatTemplate.of("no-prompt",
                "{% for m in messages %}{{ '<|im_start|>' + m.role + '\\n' + m.content + '<|im_end|>\\n' }}{% endfor %}", Map.of());
        List<ChatMessage> m = List.of(ChatMessage.user("U"), ChatMessage.assistant("A"), ChatMessage.user("U2"),
                ChatMessage.assistant("B"));
        assertEquals(List.of("A" + END, "B" + END), t.renderWithSpans(m, null).replies());
    }

    @Test
    void unlocatableReplyNamesTheMessage() {
        // A template that hides assistant messages entirely: there is no reply to find.
        ChatTemplate t = ChatTemplate.of("hiding",
                "{% for m in messages %}{% if m.role == 'user' %}<u>{{ m.content }}</u>{% endif %}{% endfor %}"
                        + "{% if add_generation_prompt %}<a>{% endif %}", Map.of()).withEndOfTurn("</a>");
        var e = assertThrows(TemplateException.class,
                () -> t.renderWithSpans(List.of(ChatMessage.user("q"), ChatMessage.assistant("r"), ChatMessage.user("q2")), null));
        assertTrue(e.getMessage().contains("message 1"), e.getMessage());
    }
}
