package dev.fabric.template;

import java.util.List;

/**
 * A rendered conversation and where its assistant replies lie in it.
 *
 * @param text  the template's output (no generation prompt)
 * @param spans one per assistant message, in order: the characters the model should learn to produce
 */
public record RenderedConversation(String text, List<Span> spans) {
    public RenderedConversation {
        spans = List.copyOf(spans);
    }

    /**
     * The reply to assistant message {@code messageIndex}: {@code text.substring(start, end)}, from just after
     * the template's turn header up to and including the end-of-turn text.
     */
    public record Span(int messageIndex, int start, int end) {
        public boolean contains(int offset) {
            return offset >= start && offset < end;
        }
    }

    /** Whether the character at {@code offset} belongs to an assistant reply. */
    public boolean inAssistant(int offset) {
        for (Span s : spans) if (s.contains(offset)) return true;
        return false;
    }

    /** The text of each reply, in order. */
    public List<String> replies() {
        return spans.stream().map(s -> text.substring(s.start(), s.end())).toList();
    }
}
