/**
 * Tokenizers that give llama.cpp's token ids for the same text and GGUF vocabulary.
 *
 * <p>Entry point: {@link dev.fabric.tokenizer.Tokenizer#fromGguf}. The vocabulary ({@link
 * dev.fabric.tokenizer.Vocabulary}) is read from {@code tokenizer.ggml.*} with llama.cpp's defaults and
 * fix-ups applied. Encoding runs in three steps:
 * <ol>
 *   <li>special tokens are cut out of the raw text ({@code SpecialTokens}: user-defined tokens always,
 *       control tokens when the caller parses specials; longest text first);</li>
 *   <li>byte-level BPE ({@code BpeModel}, {@code tokenizer.ggml.model = gpt2}) splits the rest into words with
 *       the pre-tokenizer named by {@code tokenizer.ggml.pre} (hand-written scanners equivalent to the HF
 *       regexes, checked against java.util.regex in the tests) and merges each word's bytes by rank;
 *       SentencePiece ({@code SpmModel}, {@code llama}) merges characters by token score with byte fallback;</li>
 *   <li>both merge loops ({@code Merger}) look pairs of symbol ids up in an open-addressing table and cache
 *       whole words, which is what makes a 10 MB text take about a second.</li>
 * </ol>
 * Decoding reverses the byte mapping; {@link dev.fabric.tokenizer.TokenDecoder} streams it one whole
 * character at a time.
 *
 * <p>Known differences from llama.cpp: per-model LSTRIP/RSTRIP attributes of special tokens (Phi-3, Jina)
 * are not applied; decoding does not apply {@code clean_up_tokenization_spaces}; WPM/UGM/RWKV vocabularies
 * and pre-tokenizers other than those {@code PreTokenizer.forName} lists are refused with an error naming them.
 */
package dev.fabric.tokenizer;
