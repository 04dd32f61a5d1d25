package dev.fabric.template;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fabric.gguf.GgufMetadata;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Renderings of known conversations, compared with what the templates' documented formats say they must be
 * (written out by hand here). The Qwen3 template is the model's own, read from the reference GGUF.
 */
class ChatTemplateTest {
    private static final String S = "<|im_start|>", E = "<|im_end|>\n";

    @Test
    void qwen3GenerationPromptWithAndWithoutThinking() {
        ChatTemplate t = Qwen3Ref.template();
        List<ChatMessage> m = Qwen3Ref.NO_REASONING.subList(0, 2);
        String prompt = S + "system\nYou are a careful clinician." + E + S + "user\nIs aspirin an NSAID?" + E
                + S + "assistant\n";
        assertEquals(prompt, t.render(m, true, null));
        assertEquals(prompt + "<think>\n\n</think>\n\n", t.render(m, true, Qwen3Ref.NO_THINKING));
        assertEquals(prompt, t.render(m, true, Map.of("enable_thinking", true)));
    }

    @Test
    void qwen3KeepsReasoningOnlyAfterTheLastUserQuery() {
        String expected = S + "user\nWhat is 2+2?" + E + S + "assistant\n4" + E + S + "user\nAnd 3+3?" + E
                + S + "assistant\n<think>\nAdd three and three.\n</think>\n\n6" + E;
        assertEquals(expected, Qwen3Ref.template().render(Qwen3Ref.TWO_TURNS_REASONING, false, null));
    }

    @Test
    void qwen3SplitsReasoningWrittenInTheContent() {
        String expected = S + "system\nAnswer briefly." + E + S + "user\nIs 1 kg heavier than 1 lb?" + E
                + S + "assistant\nYes." + E + S + "user\nBy how much?" + E
                + S + "assistant\n<think>\n1 kg is 2.2 lb.\n</think>\n\nAbout 1.2 lb." + E;
        assertEquals(expected, Qwen3Ref.template().render(Qwen3Ref.THINK_IN_CONTENT, false, null));
    }

    @Test
    void qwen3FinalTurnWithoutReasoningGetsAnEmptyThinkBlock() {
        String expected = S + "system\nYou are a careful clinician." + E + S + "user\nIs aspirin an NSAID?" + E
                + S + "assistant\nYes." + E + S + "user\nThanks!" + E
                + S + "assistant\n<think>\n\n</think>\n\nYou're welcome." + E;
        assertEquals(expected, Qwen3Ref.template().render(Qwen3Ref.NO_REASONING, false, null));
    }

    @Test
    void qwen3ToolCallsAndGroupedToolResponses() {
        String expected = S + "user\nWeather in Paris?" + E
                + S + "assistant\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>" + E
                + S + "user\n<tool_response>\n{\"temp\": 18}\n</tool_response>\n<tool_response>\nsecond\n</tool_response>" + E
                + S + "assistant\n<think>\n\n</think>\n\nIt is 18 °C." + E;
        assertEquals(expected, Qwen3Ref.template().render(Qwen3Ref.TOOL_CALLS, false, null));
    }

    @Test
    void qwen3KeepsReasoningOfEveryStepAfterTheUserQuery() {
        String expected = S + "user\nWeather in Paris?" + E
                + S + "assistant\n<think>\nNeed the weather tool.\n</think>\n\n<tool_call>\n{\"name\": \"get_weather\","
                + " \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>" + E
                + S + "user\n<tool_response>\n18\n</tool_response>" + E
                + S + "assistant\n<think>\nReport it.\n</think>\n\nIt is 18 °C." + E;
        assertEquals(expected, Qwen3Ref.template().render(Qwen3Ref.TOOL_STEPS_REASONING, false, null));
    }

    @Test
    void qwen3ToolDefinitionsGoIntoTheSystemTurnAsPythonJson() {
        Map<String, Object> params = new LinkedHashMap<>();
        params.put("type", "object");
        params.put("properties", Map.of("city", Map.of("type", "string")));
        params.put("required", List.of("city"));
        Map<String, Object> fn = new LinkedHashMap<>();
        fn.put("name", "get_weather");
        fn.put("description", "Current weather");
        fn.put("parameters", params);
        Map<String, Object> tool = new LinkedHashMap<>();
        tool.put("type", "function");
        tool.put("function", fn);
        List<ChatMessage> m = List.of(ChatMessage.system("SYS"), ChatMessage.user("Weather in Paris?"));
        String out = Qwen3Ref.template().render(m, true, Map.of("tools", List.of(tool)));
        assertTrue(out.startsWith(S + "system\nSYS\n\n# Tools\n"), out);
        String json = "{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"description\": \"Current weather\","
                + " \"parameters\": {\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\"}},"
                + " \"required\": [\"city\"]}}}";
        assertTrue(out.contains("<tools>\n" + json + "\n</tools>"), out);
        assertFalse(out.contains(S + "system\nSYS" + E), "the system message is merged, not repeated: " + out);
        assertTrue(out.endsWith(E + S + "user\nWeather in Paris?" + E + S + "assistant\n"), out);
    }

    static Stream<Arguments> qwen3Conversations() {
        return Stream.of(
                Arguments.of("two turns with reasoning", Qwen3Ref.TWO_TURNS_REASONING, Map.of()),
                Arguments.of("think in content", Qwen3Ref.THINK_IN_CONTENT, Map.of()),
                Arguments.of("no reasoning", Qwen3Ref.NO_REASONING, Map.of()),
                Arguments.of("no reasoning, thinking off", Qwen3Ref.NO_REASONING, Qwen3Ref.NO_THINKING),
                Arguments.of("tool calls", Qwen3Ref.TOOL_CALLS, Map.of()),
                Arguments.of("tool steps with reasoning", Qwen3Ref.TOOL_STEPS_REASONING, Map.of()),
                Arguments.of("tool call with string arguments", List.of(ChatMessage.user("q"),
                        new ChatMessage("assistant", "Checking.", null,
                                List.of(new ChatMessage.ToolCall(null, "f", "{\"x\": 1}"),
                                        new ChatMessage.ToolCall(null, "g", Map.of())), null, null),
                        ChatMessage.tool("<r>")), Map.of()));
    }

    /** Our own Qwen3 template must agree with the model's, prefix by prefix, with and without the prompt. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("qwen3Conversations")
    void builtInQwen3MatchesTheModelsTemplate(String label, List<ChatMessage> msgs, Map<String, Object> extra) {
        ChatTemplate model = Qwen3Ref.template(), ours = ChatTemplate.named("qwen3");
        for (int n = 1; n <= msgs.size(); n++) {
            for (boolean gen : new boolean[] {false, true}) {
                List<ChatMessage> m = msgs.subList(0, n);
                assertEquals(model.render(m, gen, extra), ours.render(m, gen, extra), label + ", " + n + " messages");
            }
        }
    }

    @Test
    void llama3Format() {
        List<ChatMessage> m = List.of(ChatMessage.system("You are terse."), ChatMessage.user("  Hi?\n"),
                ChatMessage.assistant("Hello."), ChatMessage.user("2+2?"));
        String h = "<|start_header_id|>", e = "<|end_header_id|>\n\n", eot = "<|eot_id|>";
        String expected = "<|begin_of_text|>" + h + "system" + e + "You are terse." + eot + h + "user" + e + "Hi?" + eot
                + h + "assistant" + e + "Hello." + eot + h + "user" + e + "2+2?" + eot;
        ChatTemplate t = ChatTemplate.named("llama3");
        assertEquals(expected, t.render(m, false, null));
        assertEquals(expected + h + "assistant" + e, t.render(m, true, null));
        assertEquals("<|eot_id|>", t.endOfTurn().orElseThrow());
    }

    /**
     * Llama 3 GGUFs carry Meta's template, written in another style than ours: bracket subscripts, a filter
     * inside a concatenation ({@code a + m['content'] | trim + b} trims only the content) and
     * {@code bos_token} prepended in the loop. This one, in that style, must render as our built-in does.
     */
    @Test
    void llama3StyleTemplateFromAFileRendersLikeTheBuiltIn() {
        String style = "{% for m in messages %}{% set text = '<|start_header_id|>' + m['role'] + '<|end_header_id|>\\n\\n'"
                + " + m['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set text = bos_token + text %}{% endif %}"
                + "{{ text }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}";
        ChatTemplate file = ChatTemplate.of("llama3-style", style, Map.of("bos_token", "<|begin_of_text|>"));
        List<ChatMessage> m = List.of(ChatMessage.system(" S "), ChatMessage.user("U\n"), ChatMessage.assistant("A"),
                ChatMessage.user("U2"));
        for (boolean gen : new boolean[] {false, true}) {
            assertEquals(ChatTemplate.named("llama3").render(m, gen, null), file.render(m, gen, null));
        }
    }

    @Test
    void llama3ToolTurns() {
        List<ChatMessage> m = List.of(ChatMessage.user("Weather?"),
                new ChatMessage("assistant", null, null,
                        List.of(new ChatMessage.ToolCall(null, "get_weather", Map.of("city", "Paris"))), null, null),
                ChatMessage.tool("18"));
        String h = "<|start_header_id|>", e = "<|end_header_id|>\n\n", eot = "<|eot_id|>";
        String expected = "<|begin_of_text|>" + h + "user" + e + "Weather?" + eot + h + "assistant" + e
                + "{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}" + eot + h + "ipython" + e + "18" + eot;
        assertEquals(expected, ChatTemplate.named("llama3").render(m, false, null));
    }

    @Test
    void chatmlFormat() {
        List<ChatMessage> m = List.of(ChatMessage.system("S"), ChatMessage.user("U"), ChatMessage.assistant("A"));
        ChatTemplate t = ChatTemplate.named("ChatML");
        String expected = S + "system\nS" + E + S + "user\nU" + E + S + "assistant\nA" + E;
        assertEquals(expected, t.render(m, false, null));
        assertEquals(expected + S + "assistant\n", t.render(m, true, null));
        assertEquals("<|im_end|>", t.endOfTurn().orElseThrow());
    }

    @Test
    void messageTextIsNeverExecutedAsTemplateCode() {
        List<ChatMessage> m = List.of(ChatMessage.user("{{ 7 * 7 }} {% if true %}x{% endif %}"));
        assertEquals(S + "user\n{{ 7 * 7 }} {% if true %}x{% endif %}" + E, ChatTemplate.named("chatml").render(m, false, null));
    }

    @Test
    void unknownNameListsTheBuiltIns() {
        var e = assertThrows(TemplateException.class, () -> ChatTemplate.named("vicuna"));
        assertTrue(e.getMessage().contains("chatml, qwen3, llama3"), e.getMessage());
    }

    @Test
    void raiseExceptionReportsTheTemplatesMessage() {
        ChatTemplate t = ChatTemplate.of("strict", "{% if messages[0].role != 'user' %}{{ raise_exception('first must be user') }}{% endif %}ok", Map.of());
        assertEquals("ok", t.render(List.of(ChatMessage.user("x")), false, null));
        var e = assertThrows(TemplateException.class, () -> t.render(List.of(ChatMessage.system("x")), false, null));
        assertTrue(e.getMessage().contains("first must be user") && e.getMessage().contains("strict"), e.getMessage());
    }

    @Test
    void unclosedBlocksAreReportedWhenTheTemplateIsLoaded() {
        var e = assertThrows(TemplateException.class, () -> ChatTemplate.of("broken", "{% for m in messages %}{{ m.role }}", Map.of()));
        assertTrue(e.getMessage().contains("broken"), e.getMessage());
    }

    /** One parsed template serves several threads (a data loader renders in parallel). */
    @Test
    void rendersConcurrently() throws Exception {
        ChatTemplate t = Qwen3Ref.template();
        List<List<ChatMessage>> convs = List.of(Qwen3Ref.TWO_TURNS_REASONING, Qwen3Ref.THINK_IN_CONTENT,
                Qwen3Ref.NO_REASONING, Qwen3Ref.TOOL_CALLS);
        List<String> expected = convs.stream().map(c -> t.render(c, false, null)).toList();
        var pool = java.util.concurrent.Executors.newFixedThreadPool(4);
        try {
            var futures = new java.util.ArrayList<java.util.concurrent.Future<Boolean>>();
            for (int i = 0; i < 200; i++) {
                int k = i % convs.size();
                futures.add(pool.submit(() -> expected.get(k).equals(t.render(convs.get(k), false, null))));
            }
            for (var f : futures) assertTrue(f.get());
        } finally {
            pool.shutdown();
        }
    }

    @Test
    void builtInQwen3RefusesToolDefinitions() {
        var e = assertThrows(TemplateException.class, () -> ChatTemplate.named("qwen3")
                .render(List.of(ChatMessage.user("x")), true, Map.of("tools", List.of(Map.of("type", "function")))));
        assertTrue(e.getMessage().contains("tool definitions"), e.getMessage());
    }

    @Test
    void ggufTemplateKnowsItsEndOfTurn() {
        assertEquals("<|im_end|>", Qwen3Ref.template().endOfTurn().orElseThrow());
    }

    @Test
    void chooseTakesTheNamedTemplateOverTheModels() {
        assertEquals("llama3", ChatTemplate.choose("llama3", Qwen3Ref.metadata()).name());
        assertEquals(Qwen3Ref.metadata().getString(ChatTemplate.KEY), ChatTemplate.choose(null, Qwen3Ref.metadata()).source());
    }

    @Test
    void endOfTurnIsTheEosTextWhereTheTemplateWritesItLiterally() {
        String src = "{% for m in messages %}<{{ m.role }}>{{ m.content }}<end/>{% endfor %}";
        assertEquals("<end/>", ChatTemplate.of("t", src, Map.of("eos_token", "<end/>")).endOfTurn().orElseThrow());
        assertTrue(ChatTemplate.of("t", src, Map.of("eos_token", "</s>")).endOfTurn().isEmpty());
    }

    @Test
    void ggufWithoutTemplateAsksForABuiltIn() {
        GgufMetadata md = GgufMetadata.builder().source("plain.gguf").putString("general.architecture", "llama").build();
        var e = assertThrows(TemplateException.class, () -> ChatTemplate.fromGguf(md));
        assertTrue(e.getMessage().contains("plain.gguf") && e.getMessage().contains("tokenizer.chat_template")
                && e.getMessage().contains("llama3"), e.getMessage());
    }

    @Test
    void ggufBosAndEosTokensBecomeTemplateVariables() {
        GgufMetadata md = GgufMetadata.builder().source("t.gguf")
                .putString(ChatTemplate.KEY, "{{ bos_token }}|{% for m in messages %}{{ m.content }}{% endfor %}|{{ eos_token }}")
                .putStringArray("tokenizer.ggml.tokens", List.of("<s>", "</s>", "a"))
                .putU32("tokenizer.ggml.bos_token_id", 0).putU32("tokenizer.ggml.eos_token_id", 1).build();
        ChatTemplate t = ChatTemplate.fromGguf(md);
        assertEquals("<s>|hi|</s>", t.render(List.of(ChatMessage.user("hi")), false, null));
        assertEquals("</s>", t.endOfTurn().orElseThrow());
    }
}
