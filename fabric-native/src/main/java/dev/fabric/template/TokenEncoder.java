package dev.fabric.template;

import dev.fabric.tokenizer.Encoding;
import dev.fabric.tokenizer.Tokenizer;

/**
 * Tokenization as the loss mask needs it: the whole rendered conversation at once, special-token texts the
 * template wrote parsed as those tokens, and where each token starts ({@link Encoding#offsets()}, UTF-16
 * indices into the text).
 */
@FunctionalInterface
public interface TokenEncoder {
    Encoding encode(String text);

    /**
     * A model's tokenizer. Special tokens in the text are parsed; no EOS is added. BOS is added only where the
     * vocabulary asks for it and the template has not already written it, so it is never doubled.
     */
    static TokenEncoder of(Tokenizer tok) {
        return text -> {
            Encoding e = tok.encodeWithOffsets(text, false, true);
            int bos = tok.bosId();
            if (!tok.addBosDefault() || bos < 0 || text.startsWith(tok.tokenText(bos))) return e;
            int[] ids = new int[e.size() + 1], offsets = new int[e.size() + 1];
            ids[0] = bos;
            System.arraycopy(e.ids(), 0, ids, 1, e.size());
            System.arraycopy(e.offsets(), 0, offsets, 1, e.size());
            return new Encoding(ids, offsets);
        };
    }
}
