package dev.fabric.template;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
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
