package dev.fabric.tokenizer;

import dev.fabric.FabricException;
import java.util.Locale;

/**
 * Splits raw text (as code points) into the words that byte-level BPE merges within; llama.cpp calls
 * this pre-tokenization and picks it by the GGUF key {@code tokenizer.ggml.pre}. Each implementation
 * is a hand-written scanner equivalent to the regex(es) the HF tokenizer declares.
 */
interface PreTokenizer {
    /** Appends to {@code ends} the end index of every word of {@code cps[from, to)}, in order; words tile the range. */
    void split(int[] cps, int from, int to, IntList ends);

    /** The pre-tokenizer for a {@code tokenizer.ggml.pre} value. */
    static PreTokenizer forName(String pre) {
        String p = pre == null ? "default" : pre.toLowerCase(Locale.ROOT);
        return switch (p) {
            // GPT-2's regex: 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
            case "gpt-2", "gpt2", "mpt", "olmo", "jais", "trillion", "granite-docling" -> new Gpt2Split();
            // cl100k-style regex with up to three digits per number word (Llama 3 and look-alikes).
            case "llama3", "llama-bpe", "dbrx", "smaug-bpe", "chatglm-bpe" -> new Llama3Split(3);
            // The same regex with one digit per number word (Qwen2/Qwen3).
            case "qwen2", "stablelm2", "hunyuan", "grok-2" -> new Llama3Split(1);
            case "deepseek-llm" -> new DeepseekLlmSplit();
            default -> throw new FabricException("tokenizer.ggml.pre = '" + pre
                    + "' is not a pre-tokenizer Fabric knows (known: gpt-2, llama-bpe, qwen2, deepseek-llm and aliases)");
        };
    }
}
