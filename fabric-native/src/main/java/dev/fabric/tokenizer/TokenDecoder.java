package dev.fabric.tokenizer;

/**
 * Streaming detokenizer for generation: feed ids one at a time and get back only complete characters,
 * since a byte-level token may end in the middle of a UTF-8 sequence. Pieces are written as llama.cpp
 * prints generated tokens: no prefix space is removed. Not thread-safe; one per stream.
 */
public final class TokenDecoder {
    private final Tokenizer tokenizer;
    private final boolean renderSpecial;
    private final Utf8Accumulator acc = new Utf8Accumulator();

    TokenDecoder(Tokenizer tokenizer, boolean renderSpecial) {
        this.tokenizer = tokenizer;
        this.renderSpecial = renderSpecial;
    }

    /** Adds one token; returns the text it completes (empty while a character is still incomplete). */
    public String push(int id) {
        acc.push(tokenizer.pieceBytes(id, renderSpecial));
        return acc.take();
    }

    /** Whether bytes of an incomplete character are held back. */
    public boolean hasPending() {
        return acc.hasPending();
    }

    /** Ends the stream: returns what is left, an incomplete character as U+FFFD. */
    public String finish() {
        acc.finish();
        return acc.take();
    }
}
