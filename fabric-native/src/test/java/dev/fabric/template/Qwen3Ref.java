package dev.fabric.template;

import dev.fabric.gguf.GgufFile;
import dev.fabric.gguf.GgufMetadata;
import dev.fabric.testing.SharedRef;
import dev.fabric.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Map;

/** The Qwen3 vocabulary GGUF of the reference folder (its metadata read once) and conversations used in tests. */
final class Qwen3Ref {
    private Qwen3Ref() {}

    private static GgufMetadata metadata;

    static synchronized GgufMetadata metadata() {
        if (metadata == null) {
            try (GgufFile f = GgufFile.open(SharedRef.require("models/ggml-vocab-qwen3.gguf"))) {
                metadata = f.metadata();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return metadata;
    }

    private static Tokenizer tokenizer;

    static synchronized Tokenizer tokenizer() {
        if (tokenizer == null) tokenizer = Tokenizer.fromGguf(metadata());
        return tokenizer;
    }

    /** The model's own template, from the file. */
    static ChatTemplate template() {
        return ChatTemplate.fromGguf(metadata());
    }

    static final List<ChatMessage> TWO_TURNS_REASONING = List.of(
            ChatMessage.user("What is 2+2?"),
            ChatMessage.assistant("4", "Add two and two."),
            ChatMessage.user("And 3+3?"),
            ChatMessage.assistant("6", "Add three and three."));

    static final List<ChatMessage> THINK_IN_CONTENT = List.of(
            ChatMessage.system("Answer briefly."),
            ChatMessage.user("Is 1 kg heavier than 1 lb?"),
            ChatMessage.assistant("<think>\nCheck units.\n</think>\n\nYes."),
            ChatMessage.user("By how much?"),
            ChatMessage.assistant("<think>\n1 kg is 2.2 lb.\n</think>\n\nAbout 1.2 lb."));

    static final List<ChatMessage> NO_REASONING = List.of(
            ChatMessage.system("You are a careful clinician."),
            ChatMessage.user("Is aspirin an NSAID?"),
            ChatMessage.assistant("Yes."),
            ChatMessage.user("Thanks!"),
            ChatMessage.assistant("You're welcome."));

    static final List<ChatMessage> TOOL_CALLS = List.of(
            ChatMessage.user("Weather in Paris?"),
            new ChatMessage("assistant", "", null,
                    List.of(new ChatMessage.ToolCall("c1", "get_weather", Map.of("city", "Paris"))), null, null),
            ChatMessage.tool("{\"temp\": 18}"),
            ChatMessage.tool("second"),
            ChatMessage.assistant("It is 18 °C."));

    /** An agentic exchange: reasoning before the tool call and before the answer, one user query. */
    static final List<ChatMessage> TOOL_STEPS_REASONING = List.of(
            ChatMessage.user("Weather in Paris?"),
            new ChatMessage("assistant", "", "Need the weather tool.",
                    List.of(new ChatMessage.ToolCall(null, "get_weather", Map.of("city", "Paris"))), null, null),
            ChatMessage.tool("18"),
            ChatMessage.assistant("It is 18 °C.", "Report it."));

    static final Map<String, Object> NO_THINKING = Map.of("enable_thinking", false);
}
