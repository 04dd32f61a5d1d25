package dev.fabric.template;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ChatMessageJsonTest {
    @Test
    void readsAnOpenAiConversation(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("chat.json");
        Files.writeString(f, """
                [{"role": "system", "content": "S"},
                 {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
                 {"role": "assistant", "content": null, "tool_calls": [
                   {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{\\"x\\": 1}"}},
                   {"type": "function", "function": {"name": "g", "arguments": {"y": [true]}}}]},
                 {"role": "tool", "tool_call_id": "c1", "content": "42"},
                 {"role": "assistant", "content": "done", "reasoning_content": "why"}]
                """);
        List<ChatMessage> m = ChatMessage.fromJson(f);
        assertEquals(5, m.size());
        assertEquals(ChatMessage.system("S"), m.get(0));
        assertEquals("ab", m.get(1).content());
        assertEquals(List.of(new ChatMessage.ToolCall("c1", "f", "{\"x\": 1}"),
                new ChatMessage.ToolCall(null, "g", Map.of("y", List.of(true)))), m.get(2).toolCalls());
        assertEquals("c1", m.get(3).toolCallId());
        assertEquals(ChatMessage.assistant("done", "why"), m.get(4));
    }

    @Test
    void acceptsAnObjectWithMessages() {
        assertEquals(List.of(ChatMessage.user("hi")), ChatMessage.fromJson("{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}", "x"));
    }

    private static String error(String json) {
        return assertThrows(TemplateException.class, () -> ChatMessage.fromJson(json, "chat.json")).getMessage();
    }

    private static final String VALID = "[{\"role\": \"user\", \"content\": [{\"type\": \"text\", \"text\": \"hi\"}]},"
            + " {\"role\": \"assistant\", \"content\": null, \"reasoning_content\": \"r\", \"tool_calls\":"
            + " [{\"id\": \"1\", \"function\": {\"name\": \"f\", \"arguments\": {\"a\": [1, 2.5, true]}}}]}]";

    private static void readOrTemplateException(String json) {
        try {
            ChatMessage.fromJson(json, "x");
        } catch (TemplateException expected) {
            // the only acceptable failure
        }
    }

    /** Damaged text (characters deleted, duplicated or replaced) fails with a TemplateException only. */
    @Test
    void damagedTextFailsOnlyWithTemplateException() {
        assertEquals(2, ChatMessage.fromJson(VALID, "x").size());
        Random rnd = new Random(42);
        String alphabet = "[]{}:,\"\\ 0a-.etruln";
        for (int n = 0; n < 3000; n++) {
            StringBuilder sb = new StringBuilder(VALID);
            for (int e = 1 + rnd.nextInt(3); e > 0 && sb.length() > 0; e--) {
                int at = rnd.nextInt(sb.length());
                switch (rnd.nextInt(3)) {
                    case 0 -> sb.deleteCharAt(at);
                    case 1 -> sb.insert(at, sb.charAt(rnd.nextInt(sb.length())));
                    default -> sb.setCharAt(at, alphabet.charAt(rnd.nextInt(alphabet.length())));
                }
            }
            readOrTemplateException(sb.toString());
        }
    }

    /** Valid JSON of the wrong shape (any value swapped for another kind) fails with a TemplateException only. */
    @Test
    void wrongShapesFailOnlyWithTemplateException() throws Exception {
        Random rnd = new Random(7);
        List<Object> kinds = List.of("s", 1, 2.5, true, List.of(), List.of("x"), Map.of(), Map.of("k", "v"));
        for (int n = 0; n < 2000; n++) {
            Object tree;
            try (var p = new com.fasterxml.jackson.core.JsonFactory().createParser(VALID)) {
                tree = PyJson.parse(p);
            }
            Object mutated = swapOne(tree, rnd, kinds, new int[] {rnd.nextInt(40)});
            readOrTemplateException(PyJson.dumps(mutated, -1));
        }
    }

    /** Replaces the {@code left[0]}-th value met in a depth-first walk by a random kind (or null). */
    @SuppressWarnings("unchecked")
    private static Object swapOne(Object v, Random rnd, List<Object> kinds, int[] left) {
        if (left[0]-- == 0) return rnd.nextInt(kinds.size() + 1) == kinds.size() ? null : kinds.get(rnd.nextInt(kinds.size()));
        if (v instanceof Map<?, ?> m) {
            Map<String, Object> copy = new java.util.LinkedHashMap<>();
            for (var e : m.entrySet()) copy.put((String) e.getKey(), swapOne(e.getValue(), rnd, kinds, left));
            return copy;
        }
        if (v instanceof List<?> l) {
            List<Object> copy = new java.util.ArrayList<>();
            for (Object o : l) copy.add(swapOne(o, rnd, kinds, left));
            return copy;
        }
        return v;
    }

    @Test
    void errorsNameTheIndexAndField() {
        assertTrue(error("[{\"role\": \"user\", \"content\": \"a\"}, {\"content\": \"b\"}]")
                .contains("chat.json: messages[1]: missing \"role\""));
        assertTrue(error("[{\"role\": \"user\", \"content\": 5}]").contains("messages[0].content"));
        assertTrue(error("[{\"role\": \"assistant\", \"tool_calls\": [{\"function\": {\"arguments\": {}}}]}]")
                .contains("messages[0].tool_calls[0].function: missing \"name\""));
        assertTrue(error("[{\"role\": \"user\", \"content\": [{\"type\": \"image_url\"}]}]").contains("messages[0].content[0]"));
        assertTrue(error("{\"role\": \"user\"}").contains("expected a JSON array"));
        String syntax = error("[{\"role\": \"user\",\n \"content\": }]");
        assertTrue(syntax.contains("line 2"), syntax);
    }
}
