package dev.fabric.template;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import dev.fabric.FabricException;
import dev.fabric.io.TextInput;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One message of a conversation, as the OpenAI / Hugging Face chat format has it.
 *
 * @param role             "system", "user", "assistant" or "tool" (templates may know others)
 * @param content          the text; null is rendered as an empty string
 * @param reasoningContent an assistant's reasoning (Qwen3 renders it in a {@code <think>} block), or null
 * @param toolCalls        an assistant's tool calls, empty if none
 * @param name             the tool's or speaker's name, or null
 * @param toolCallId       for a tool message, the id of the call it answers, or null
 */
public record ChatMessage(String role, String content, String reasoningContent, List<ToolCall> toolCalls, String name,
        String toolCallId) {

    public ChatMessage {
        Objects.requireNonNull(role, "role");
        toolCalls = toolCalls == null ? List.of() : List.copyOf(toolCalls);
    }

    public ChatMessage(String role, String content) {
        this(role, content, null, List.of(), null, null);
    }

    public static ChatMessage system(String content) {
        return new ChatMessage("system", content);
    }

    public static ChatMessage user(String content) {
        return new ChatMessage("user", content);
    }

    public static ChatMessage assistant(String content) {
        return new ChatMessage("assistant", content);
    }

    /** An assistant reply with separate reasoning (Qwen3's {@code reasoning_content}). */
    public static ChatMessage assistant(String content, String reasoningContent) {
        return new ChatMessage("assistant", content, reasoningContent, List.of(), null, null);
    }

    public static ChatMessage tool(String content) {
        return new ChatMessage("tool", content);
    }

    /**
     * A function call made by the assistant.
     *
     * @param arguments a JSON object as a {@code Map} (rendered with {@code tojson}) or the raw JSON text as a
     *                  {@code String} (rendered as is), as OpenAI's API sends it
     */
    public record ToolCall(String id, String name, Object arguments) {
        public ToolCall {
            Objects.requireNonNull(name, "name");
        }

        Map<String, Object> toTemplateValue() {
            Map<String, Object> fn = new LinkedHashMap<>();
            fn.put("name", name);
            fn.put("arguments", arguments == null ? Map.of() : arguments);
            Map<String, Object> m = new LinkedHashMap<>();
            if (id != null) m.put("id", id);
            m.put("type", "function");
            m.put("function", fn);
            return m;
        }
    }

    /**
     * The message as Hugging Face templates see it: a dict holding only the keys that are set, so that
     * {@code message.reasoning_content is defined} and {@code message.tool_calls} tests behave as in Python.
     */
    Map<String, Object> toTemplateValue() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("role", role);
        m.put("content", content == null ? "" : content);
        if (reasoningContent != null) m.put("reasoning_content", reasoningContent);
        if (!toolCalls.isEmpty()) m.put("tool_calls", toolCalls.stream().map(ToolCall::toTemplateValue).toList());
        if (name != null) m.put("name", name);
        if (toolCallId != null) m.put("tool_call_id", toolCallId);
        return m;
    }

    /**
     * Reads an OpenAI-style conversation: a JSON array of messages {@code {"role", "content",
     * "reasoning_content"?, "tool_calls"?, "name"?, "tool_call_id"?}}, or an object with such an array under
     * {@code "messages"}. Errors name the file, the message index and the field.
     */
    public static List<ChatMessage> fromJson(Path file) {
        return fromJson(file, TextInput.DEFAULT_MAX_BYTES);
    }

    /** As {@link #fromJson(Path)}, refusing a file of more than {@code maxBytes} (see {@link TextInput}). */
    public static List<ChatMessage> fromJson(Path file, long maxBytes) {
        String text;
        try {
            text = TextInput.read(file, maxBytes, "--max-input-mib");
        } catch (IOException e) {
            throw new FabricException("cannot read conversation file " + file + ": " + e.getMessage(),
                    FabricException.EXIT_IO, e);
        }
        return fromJson(text, file.toString());
    }

    /**
     * The roles a conversation file may use: those the chat templates render. Templates skip (Qwen3) or misrender
     * a role they do not know, so any other is refused rather than silently dropped from the prompt.
     */
    public static final List<String> ROLES = List.of("system", "user", "assistant", "tool");

    /** As {@link #fromJson(Path)}, from JSON text; {@code source} names it in errors. */
    public static List<ChatMessage> fromJson(String json, String source) {
        Object root;
        try (JsonParser p = new JsonFactory().createParser(json)) {
            root = PyJson.parse(p);
            if (p.nextToken() != null) {
                throw new TemplateException(source + ": unexpected content after the JSON value at line "
                        + p.currentLocation().getLineNr() + ", column " + p.currentLocation().getColumnNr());
            }
        } catch (JsonProcessingException e) {
            var at = e.getLocation(); // absent for some limits (e.g. nesting depth)
            throw new TemplateException(source + ": invalid JSON" + (at == null ? "" : " at line " + at.getLineNr()
                    + ", column " + at.getColumnNr()) + ": " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new TemplateException(source + ": invalid JSON: " + e.getMessage(), e);
        }
        if (root instanceof Map<?, ?> obj && obj.containsKey("messages")) root = obj.get("messages");
        if (!(root instanceof List<?> list)) {
            throw new TemplateException(source + ": expected a JSON array of messages (or an object with \"messages\")");
        }
        List<ChatMessage> out = new ArrayList<>();
        for (int i = 0; i < list.size(); i++) out.add(fromJsonValue(list.get(i), source + ": messages[" + i + "]"));
        return out;
    }

    private static ChatMessage fromJsonValue(Object v, String where) {
        if (!(v instanceof Map<?, ?> m)) throw new TemplateException(where + ": expected an object {\"role\", \"content\"}");
        String role = string(m, "role", where, true);
        if (!ROLES.contains(role))
            throw new TemplateException(where + ".role: unknown role '" + role + "' (allowed: " + String.join(", ", ROLES) + ")");
        Object c = m.get("content");
        String content;
        if (c == null || c instanceof String) {
            content = (String) c;
        } else if (c instanceof List<?> parts) {
            content = textParts(parts, where);
        } else {
            throw new TemplateException(where + ".content: expected a string, null or a list of text parts");
        }
        List<ToolCall> calls = new ArrayList<>();
        Object tc = m.get("tool_calls");
        if (tc != null) {
            if (!(tc instanceof List<?> tcl)) throw new TemplateException(where + ".tool_calls: expected an array");
            for (int j = 0; j < tcl.size(); j++) calls.add(toolCall(tcl.get(j), where + ".tool_calls[" + j + "]"));
        }
        return new ChatMessage(role, content, string(m, "reasoning_content", where, false), calls,
                string(m, "name", where, false), string(m, "tool_call_id", where, false));
    }

    /** OpenAI's multi-part content: only text parts can be rendered by a text template. */
    private static String textParts(List<?> parts, String where) {
        StringBuilder sb = new StringBuilder();
        for (int j = 0; j < parts.size(); j++) {
            String w = where + ".content[" + j + "]";
            if (!(parts.get(j) instanceof Map<?, ?> p) || !"text".equals(p.get("type"))) {
                throw new TemplateException(w + ": only {\"type\": \"text\", \"text\": ...} parts are supported");
            }
            sb.append(string(p, "text", w, true));
        }
        return sb.toString();
    }

    private static ToolCall toolCall(Object v, String where) {
        if (!(v instanceof Map<?, ?> m)) throw new TemplateException(where + ": expected an object");
        Object f = m.containsKey("function") ? m.get("function") : m;
        if (!(f instanceof Map<?, ?> fn)) throw new TemplateException(where + ".function: expected an object");
        String w = m.containsKey("function") ? where + ".function" : where;
        Object args = fn.get("arguments");
        if (args != null && !(args instanceof String) && !(args instanceof Map<?, ?>)) {
            throw new TemplateException(w + ".arguments: expected an object or a JSON string");
        }
        return new ToolCall(string(m, "id", where, false), string(fn, "name", w, true), args);
    }

    private static String string(Map<?, ?> m, String key, String where, boolean required) {
        Object v = m.get(key);
        if (v == null) {
            if (required) throw new TemplateException(where + ": missing \"" + key + "\"");
            return null;
        }
        if (!(v instanceof String s)) throw new TemplateException(where + "." + key + ": expected a string, got " + v);
        return s;
    }
}
