package dev.fabric.data;

import dev.fabric.template.ChatTemplate;
import dev.fabric.template.MaskedConversation;
import dev.fabric.template.TokenEncoder;
import dev.fabric.tokenizer.Tokenizer;
import java.util.Arrays;
import java.util.Map;

/**
 * Rows to token ids and loss masks. A conversation is rendered by the chat template (the real Jinja engine)
 * and tokenized whole; {@link MaskedConversation} marks each assistant reply and its end-of-turn token, and
 * nothing else (reasoning blocks count where the template renders them inside the reply, as Qwen3's does for
 * turns after the last user message). A text row is tokenized as plain text (control-token text in it is not
 * parsed), with BOS where the vocabulary adds one and EOS at the end, and every token is trained.
 */
public final class ExampleEncoder {
    private final Tokenizer tokenizer;
    private final TokenEncoder encoder;
    private final ChatTemplate template;
    private final Map<String, Object> templateVars;

    /**
     * @param template the chat template, or null when the model has none and the recipe sets none (then any
     *                 conversation row is an error, see {@link #noTemplate})
     */
    public ExampleEncoder(Tokenizer tokenizer, ChatTemplate template, Map<String, Object> templateVars) {
        this.tokenizer = tokenizer;
        this.encoder = TokenEncoder.of(tokenizer);
        this.template = template;
        this.templateVars = templateVars == null ? Map.of() : Map.copyOf(templateVars);
    }

    public ChatTemplate template() {
        return template;
    }

    /** This encoder with further template variables (e.g. {@code enable_thinking}). */
    public ExampleEncoder withVars(Map<String, Object> vars) {
        Map<String, Object> all = new java.util.HashMap<>(templateVars);
        all.putAll(vars);
        return new ExampleEncoder(tokenizer, template, all);
    }

    /**
     * A row as one example, or with {@code splitTurns} a conversation as one example per assistant reply: the
     * conversation up to that reply, only that reply trained ({@link ChatTemplate#renderEachTurn}).
     */
    public java.util.List<Encoded> encode(Row row, boolean splitTurns) {
        if (!splitTurns || row.isText()) return java.util.List.of(encode(row));
        java.util.List<Encoded> out = new java.util.ArrayList<>();
        for (var rendered : template.renderEachTurn(row.messages(), templateVars)) {
            MaskedConversation mc = MaskedConversation.of(rendered, encoder);
            out.add(new Encoded(mc.ids(), mc.mask(), mc));
        }
        return out;
    }

    /** Tokens and mask of a row: {@code ids}, and per token whether the loss predicts it; display text. */
    public record Encoded(int[] ids, boolean[] mask, MaskedConversation conversation) {
        /** The rendered text with trained tokens between [[ ]] (or green with ansi). */
        public String display(Tokenizer tok, boolean ansi) {
            if (conversation != null) return conversation.formatText(ansi);
            String open = ansi ? "\u001b[32m" : "[[", close = ansi ? "\u001b[0m" : "]]";
            StringBuilder sb = new StringBuilder();
            boolean in = false;
            for (int k = 0; k < ids.length; k++) {
                if (mask[k] != in) {
                    sb.append(mask[k] ? open : close);
                    in = mask[k];
                }
                sb.append(new String(tok.pieceBytes(ids[k], true), java.nio.charset.StandardCharsets.UTF_8));
            }
            if (in) sb.append(close);
            return sb.toString();
        }
    }

    public Encoded encode(Row row) {
        if (row.isText()) {
            int[] ids = tokenizer.encode(row.text(), tokenizer.addBosDefault(), false);
            int eos = tokenizer.eosId();
            if (eos >= 0) {
                ids = Arrays.copyOf(ids, ids.length + 1);
                ids[ids.length - 1] = eos;
            }
            boolean[] mask = new boolean[ids.length];
            Arrays.fill(mask, true);
            if (mask.length > 0) mask[0] = false;
            return new Encoded(ids, mask, null);
        }
        if (template == null) throw new IllegalStateException("conversation rows need a chat template");
        MaskedConversation mc = MaskedConversation.of(template, encoder, row.messages(), templateVars);
        return new Encoded(mc.ids(), mc.mask(), mc);
    }
}
