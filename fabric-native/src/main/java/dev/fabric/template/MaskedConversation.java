package dev.fabric.template;

import dev.fabric.tokenizer.Encoding;
import dev.fabric.tokenizer.Tokenizer;
import java.util.List;
import java.util.Map;

/**
 * A conversation ready for masked-loss training: the rendered text, its tokens, and for each token whether
 * the loss counts it. The mask is true exactly on the tokens of the assistant replies (their reasoning block
 * and tool calls included when the template renders them inside the reply) and their end-of-turn token; false
 * on system, user and tool messages and on the template's scaffolding (turn headers, the newline after an
 * end-of-turn token).
 *
 * <p>The text is tokenized once, whole, so the ids are what the model sees at inference; a token is in the
 * mask when its first character is inside a reply ({@link AssistantSpans}). A token that straddles a reply's
 * start is left out; BPE pre-tokenizers split at the special tokens and newlines that templates put around
 * replies, so in practice tokens do not straddle.
 *
 * @param text    the rendered conversation
 * @param ids     its token ids
 * @param starts  each token's first character in {@code text}
 * @param mask    per token: true where the loss counts
 * @param replies where the assistant replies are in {@code text}
 */
public record MaskedConversation(String text, int[] ids, int[] starts, boolean[] mask, RenderedConversation replies) {

    public static MaskedConversation of(ChatTemplate template, TokenEncoder encoder, List<ChatMessage> messages,
            Map<String, Object> extra) {
        return of(template.renderWithSpans(messages, extra), encoder);
    }

    /** With the model's tokenizer ({@link TokenEncoder#of(Tokenizer)}). */
    public static MaskedConversation of(ChatTemplate template, Tokenizer tokenizer, List<ChatMessage> messages,
            Map<String, Object> extra) {
        return of(template, TokenEncoder.of(tokenizer), messages, extra);
    }

    public static MaskedConversation of(RenderedConversation rendered, TokenEncoder encoder) {
        Encoding enc = encoder.encode(rendered.text());
        boolean[] mask = new boolean[enc.size()];
        for (int k = 0; k < mask.length; k++) mask[k] = rendered.inAssistant(enc.offsets()[k]);
        return new MaskedConversation(rendered.text(), enc.ids(), enc.offsets(), mask, rendered);
    }

    /** The text of token {@code k}: from its start to the next token's start. */
    public String piece(int k) {
        int end = k + 1 < starts.length ? starts[k + 1] : text.length();
        return text.substring(starts[k], Math.max(starts[k], end));
    }

    /** The number of tokens the loss counts. */
    public int maskedCount() {
        int n = 0;
        for (boolean b : mask) if (b) n++;
        return n;
    }

    /** Concatenation of the masked tokens' pieces, each run of consecutive masked tokens as one string. */
    public List<String> maskedRuns() {
        java.util.ArrayList<String> runs = new java.util.ArrayList<>();
        StringBuilder cur = null;
        for (int k = 0; k < mask.length; k++) {
            if (mask[k]) {
                if (cur == null) cur = new StringBuilder();
                cur.append(piece(k));
            } else if (cur != null) {
                runs.add(cur.toString());
                cur = null;
            }
        }
        if (cur != null) runs.add(cur.toString());
        return runs;
    }

    /**
     * The text with each run of trained tokens marked, for display: between {@code [[} and {@code ]]}, or in
     * green with {@code ansi}. Control characters other than newline are escaped.
     */
    public String formatText(boolean ansi) {
        String open = ansi ? "\u001b[32m" : "[[", close = ansi ? "\u001b[0m" : "]]";
        StringBuilder sb = new StringBuilder();
        boolean in = false;
        for (int k = 0; k < mask.length; k++) {
            if (mask[k] != in) {
                sb.append(mask[k] ? open : close);
                in = mask[k];
            }
            sb.append(escape(piece(k), false));
        }
        if (in) sb.append(close);
        return sb.toString();
    }

    /** One line per token: index, id, {@code +} if trained (else {@code .}), and the piece quoted. */
    public String formatTokens() {
        StringBuilder sb = new StringBuilder();
        for (int k = 0; k < ids.length; k++) {
            sb.append(String.format("%6d %8d %s \"%s\"%n", k, ids[k], mask[k] ? "+" : ".", escape(piece(k), true)));
        }
        return sb.toString();
    }

    private static String escape(String s, boolean newlines) {
        StringBuilder sb = new StringBuilder();
        for (char c : s.toCharArray()) {
            if (c == '\n') sb.append(newlines ? "\\n" : "\n");
            else if (c == '\t') sb.append("\\t");
            else if (c == '\r') sb.append("\\r");
            else if (c < 0x20) sb.append(String.format("\\x%02x", (int) c));
            else sb.append(c);
        }
        return sb.toString();
    }
}
