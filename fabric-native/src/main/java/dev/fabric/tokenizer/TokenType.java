package dev.fabric.tokenizer;

/** A token's type as GGUF stores it in {@code tokenizer.ggml.token_type} (llama.cpp's {@code llama_token_type}). */
public enum TokenType {
    UNDEFINED(0), NORMAL(1), UNKNOWN(2), CONTROL(3), USER_DEFINED(4), UNUSED(5), BYTE(6);

    private final int code;

    TokenType(int code) {
        this.code = code;
    }

    public int code() {
        return code;
    }

    /** The type of a stored code; codes outside 0..6 read as {@link #UNDEFINED}. */
    public static TokenType of(int code) {
        return code >= 0 && code <= 6 ? values()[code] : UNDEFINED;
    }
}
