package dev.fabric.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fabric.recipe.Recipe.Format;
import dev.fabric.template.ChatMessage;
import dev.fabric.template.TemplateException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The four row shapes, as JSON objects (a JSONL line, or an Arrow row with the same fields as columns):
 * <ul>
 *   <li>messages (OpenAI): {@code {"messages": [{"role", "content", "reasoning_content"?, "tool_calls"?}, ...]}}</li>
 *   <li>sharegpt: {@code {"conversations": [{"from": "human"|"gpt"|"system"|..., "value"}, ...], "system"?}}</li>
 *   <li>alpaca: {@code {"instruction", "input"?, "output", "system"?}}; the user turn is the instruction, then
 *       a blank line and the input where there is one</li>
 *   <li>text: {@code {"text"}}: the whole text is trained on</li>
 * </ul>
 * A row is detected by its key: messages, conversations, instruction, text (in that order).
 */
final class RowShapes {
    private RowShapes() {}

    private static final ObjectMapper JSON = new ObjectMapper();

    /** ShareGPT speaker names to roles. */
    private static final Map<String, String> SHAREGPT_ROLES = Map.of(
            "system", "system", "human", "user", "user", "user", "gpt", "assistant", "assistant", "assistant",
            "model", "assistant", "tool", "tool", "function_response", "tool", "observation", "tool");

    /** The shape a row has, or null if it has none of the four. */
    static Format detect(JsonNode row) {
        if (!row.isObject()) return null;
        if (row.has("messages")) return Format.MESSAGES;
        if (row.has("conversations")) return Format.SHAREGPT;
        if (row.has("instruction")) return Format.ALPACA;
        if (row.has("text")) return Format.TEXT;
        return null;
    }

    /**
     * The row read as {@code format}.
     *
     * @throws DataException naming the field at fault (the caller adds where)
     */
    static Row parse(JsonNode row, Format format, String where, String source) {
        if (!row.isObject()) throw new DataException("expected a JSON object, got " + kind(row));
        Format has = detect(row);
        if (has != null && has != format) {
            throw new DataException((has == Format.ALPACA ? "an " : "a ") + has.label() + " row in a file read as "
                    + format.label()
                    + " (set data.format, or keep one shape per file)");
        }
        return switch (format) {
            case MESSAGES -> new Row(where, source, format, messages(row), null);
            case SHAREGPT -> new Row(where, source, format, sharegpt(row), null);
            case ALPACA -> new Row(where, source, format, alpaca(row), null);
            case TEXT -> new Row(where, source, format, null, string(row, "text", true));
            case AUTO -> throw new IllegalArgumentException("AUTO is resolved per file");
        };
    }

    private static List<ChatMessage> messages(JsonNode row) {
        JsonNode m = row.get("messages");
        if (m == null) throw new DataException("\"messages\": missing");
        if (!m.isArray()) throw new DataException("\"messages\": expected an array of {role, content}, got " + kind(m));
        if (m.isEmpty()) throw new DataException("\"messages\": an empty conversation");
        ObjectNode only = JSON.createObjectNode();
        only.set("messages", m);
        try {
            return ChatMessage.fromJson(only.toString(), "");
        } catch (TemplateException e) {
            // ChatMessage names the message and field ("": messages[2].role: ...); drop the empty source.
            String msg = e.getMessage();
            throw new DataException(msg.startsWith(": ") ? msg.substring(2) : msg);
        }
    }

    private static List<ChatMessage> sharegpt(JsonNode row) {
        JsonNode c = row.get("conversations");
        if (c == null) throw new DataException("\"conversations\": missing");
        if (!c.isArray()) throw new DataException("\"conversations\": expected an array of {from, value}, got " + kind(c));
        if (c.isEmpty()) throw new DataException("\"conversations\": an empty conversation");
        List<ChatMessage> out = new ArrayList<>();
        String system = string(row, "system", false);
        if (system != null && !system.isEmpty()) out.add(ChatMessage.system(system));
        for (int i = 0; i < c.size(); i++) {
            JsonNode t = c.get(i);
            String w = "conversations[" + i + "]";
            if (!t.isObject()) throw new DataException(w + ": expected an object {from, value}, got " + kind(t));
            String from = string(t, "from", true, w);
            String role = SHAREGPT_ROLES.get(from.toLowerCase(Locale.ROOT));
            if (role == null) {
                throw new DataException(w + ".from: unknown speaker '" + from + "'; expected human, gpt, system or tool");
            }
            out.add(new ChatMessage(role, string(t, "value", true, w)));
        }
        return out;
    }

    private static List<ChatMessage> alpaca(JsonNode row) {
        String instruction = string(row, "instruction", true);
        String input = string(row, "input", false);
        String output = string(row, "output", true);
        String system = string(row, "system", false);
        List<ChatMessage> out = new ArrayList<>();
        if (system != null && !system.isEmpty()) out.add(ChatMessage.system(system));
        out.add(ChatMessage.user(input == null || input.isEmpty() ? instruction : instruction + "\n\n" + input));
        out.add(ChatMessage.assistant(output));
        return out;
    }

    private static String string(JsonNode obj, String key, boolean required) {
        return string(obj, key, required, null);
    }

    private static String string(JsonNode obj, String key, boolean required, String where) {
        JsonNode v = obj.get(key);
        String name = where == null ? "\"" + key + "\"" : where + "." + key;
        if (v == null || v.isNull()) {
            if (required) throw new DataException(name + ": missing");
            return null;
        }
        if (!v.isTextual()) throw new DataException(name + ": expected a string, got " + kind(v));
        return v.textValue();
    }

    static String kind(JsonNode n) {
        if (n.isObject()) return "an object";
        if (n.isArray()) return "an array";
        if (n.isNull()) return "null";
        if (n.isTextual()) return "a string";
        if (n.isNumber()) return "a number";
        if (n.isBoolean()) return "a boolean";
        return n.getNodeType().toString().toLowerCase(Locale.ROOT);
    }
}
