package dev.fabric.data;

import dev.fabric.recipe.Recipe.Format;
import dev.fabric.template.ChatMessage;
import java.util.List;

/**
 * One training example as read from a file, before tokenization: a conversation, or a text.
 *
 * @param where    {@code file:line} for JSONL and text files, {@code file:row N} for Arrow (rows from 0)
 * @param source   the file it came from, as the recipe names it
 * @param format   the shape it was read as
 * @param messages the conversation (null for a text row)
 * @param text     the text (null for a conversation)
 */
public record Row(String where, String source, Format format, List<ChatMessage> messages, String text) {
    public Row {
        messages = messages == null ? null : List.copyOf(messages);
    }

    public boolean isText() {
        return text != null;
    }
}
