package dev.fabric.template;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.tag.Tag;
import com.hubspot.jinjava.tree.Node;
import com.hubspot.jinjava.tree.TagNode;

/**
 * Hugging Face's {@code {% generation %}...{% endgeneration %}} block, with which a template marks the text
 * the assistant generates (transformers uses it for {@code return_assistant_tokens_mask}). Rendered normally
 * it is transparent; when {@link #TRACK} is set in the context, its output is wrapped in {@link #OPEN} and
 * {@link #CLOSE}, which {@link AssistantSpans} turns into exact spans and removes.
 */
final class GenerationTag implements Tag {
    static final String TRACK = "__fabric_track_generation";
    /** Unicode noncharacters: never valid in interchanged text, so never in a conversation. */
    static final char OPEN = '\uFDD0', CLOSE = '\uFDD1';

    @Override
    public String getName() {
        return "generation";
    }

    @Override
    public String getEndTagName() {
        return "endgeneration";
    }

    @Override
    public String interpret(TagNode tagNode, JinjavaInterpreter interpreter) {
        StringBuilder sb = new StringBuilder();
        boolean track = Boolean.TRUE.equals(interpreter.getContext().get(TRACK));
        if (track) sb.append(OPEN);
        for (Node child : tagNode.getChildren()) sb.append(child.render(interpreter).getValue());
        if (track) sb.append(CLOSE);
        return sb.toString();
    }
}
