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

    /** The pre-tokenizer for a {@code tokenizer.ggml.pre} value (the names llama.cpp's converter writes). */
    static PreTokenizer forName(String pre) {
        String p = pre == null ? "default" : pre.toLowerCase(Locale.ROOT);
        if (isLlama3(p)) return new Llama3Split(3);
        return switch (p) {
            // GPT-2's regex: 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
            case "gpt-2", "phi-2", "roberta-bpe", "gigachat", "jina-es", "jina-de", "jina-v1-en", "jina-v2-es",
                 "jina-v2-de", "jina-v2-code", "mpt", "olmo", "jais", "trillion", "granite-docling" -> new Gpt2Split();
            // Llama 3's regex, for models that do not take Llama 3's other settings.
            case "dbrx", "smaug-bpe", "chatglm-bpe" -> new Llama3Split(3);
            // The same regex with one digit per number word (Qwen2/Qwen3).
            case "qwen2", "deepseek-r1-qwen", "megrez", "stablelm2", "hunyuan", "grok-2" -> new Llama3Split(1);
            case "deepseek-llm" -> new DeepseekLlmSplit();
            // Each digit alone, then GPT-2's regex (StarCoder, SmolLM, ...).
            case "starcoder", "refact", "command-r", "smollm", "codeshell", "exaone", "minerva-7b" ->
                    new SequentialSplit(java.util.List.of(SequentialSplit.regex("\\p{N}"), new Gpt2Split()));
            // What llama.cpp uses for a file without the key (it warns that quality may suffer).
            case "default" -> SequentialSplit.llamaCppDefault();
            default -> throw new FabricException("tokenizer.ggml.pre = '" + pre + "' is not a pre-tokenizer Fabric "
                    + "knows (known: gpt-2, llama-bpe, qwen2, deepseek-llm, smollm, default and their aliases)");
        };
    }

    /**
     * The pre-tokenizer names llama.cpp files under Llama 3, which also turns on BOS and takes a word
     * that is itself a token whole ({@code ignore_merges}).
     */
    static boolean isLlama3(String pre) {
        return switch (pre == null ? "" : pre.toLowerCase(Locale.ROOT)) {
            case "llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2" -> true;
            default -> false;
        };
    }
}
