package dev.fabric.tokenizer;

import dev.fabric.FabricException;
import dev.fabric.gguf.GgufMetadata;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A tokenizer vocabulary as a GGUF file describes it ({@code tokenizer.ggml.*}), with the defaults and
 * fix-ups llama.cpp applies when it loads one already resolved, so that a {@link Tokenizer} built from it
 * produces llama.cpp's token ids.
 *
 * @param model          {@code tokenizer.ggml.model}: {@code gpt2} (byte-level BPE) or {@code llama} (SentencePiece)
 * @param pre            {@code tokenizer.ggml.pre}, the BPE pre-tokenizer ({@code default} when absent)
 * @param tokens         token texts, by id
 * @param scores         SentencePiece scores, by id (zeros when the file has none)
 * @param tokenTypes     {@link TokenType} codes by id, after llama.cpp's fix-up that turns control-looking
 *                       tokens (end-of-turn, fill-in-the-middle markers) into CONTROL
 * @param merges         BPE merges in rank order, {@code "left right"}; empty for SentencePiece
 * @param bosId          beginning of sequence; llama.cpp's per-model default when the file has none
 *                       (1 for SentencePiece, 11 for BPE)
 * @param eosId          end of sequence (2 for SentencePiece, 11 for BPE by default)
 * @param eotId          end of turn, -1 when absent: {@code tokenizer.ggml.eot_token_id}, else found by text
 *                       ({@code <|eot_id|>}, {@code <|im_end|>}, ...)
 * @param eomId          end of message ({@code <|eom_id|>}), -1 when absent
 * @param unkId          unknown token, -1 when absent (0 by default for SentencePiece)
 * @param padId          padding token, -1 when absent
 * @param addBos         whether encoding with special tokens prepends BOS
 * @param addEos         whether encoding with special tokens appends EOS
 * @param addSpacePrefix SentencePiece: prepend a space to the text (and after every special token)
 */
public record Vocabulary(String model, String pre, List<String> tokens, float[] scores, int[] tokenTypes,
                         List<String> merges, int bosId, int eosId, int eotId, int eomId, int unkId, int padId,
                         boolean addBos, boolean addEos, boolean addSpacePrefix) {
    private static final Logger LOG = LoggerFactory.getLogger(Vocabulary.class);

    public static final String MODEL_BPE = "gpt2";
    public static final String MODEL_SPM = "llama";

    static final String K_MODEL = "tokenizer.ggml.model", K_PRE = "tokenizer.ggml.pre",
            K_TOKENS = "tokenizer.ggml.tokens", K_SCORES = "tokenizer.ggml.scores",
            K_TYPES = "tokenizer.ggml.token_type", K_MERGES = "tokenizer.ggml.merges",
            K_BOS = "tokenizer.ggml.bos_token_id", K_EOS = "tokenizer.ggml.eos_token_id",
            K_EOT = "tokenizer.ggml.eot_token_id", K_EOM = "tokenizer.ggml.eom_token_id",
            K_UNK = "tokenizer.ggml.unknown_token_id", K_PAD = "tokenizer.ggml.padding_token_id",
            K_ADD_BOS = "tokenizer.ggml.add_bos_token", K_ADD_EOS = "tokenizer.ggml.add_eos_token",
            K_ADD_SPACE = "tokenizer.ggml.add_space_prefix";

    /** Texts llama.cpp takes for end of turn when the file names none, in the order we prefer them. */
    static final List<String> EOT_TEXTS = List.of("<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>",
            "<|endoftext|>", "<EOT>", "_<EOT>", "<｜end▁of▁sentence｜>", "<end_of_utterance>");

    /** Texts that end generation (llama.cpp's EOG set, besides EOS/EOT/EOM). */
    static final Set<String> EOG_TEXTS = Set.of("<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>",
            "<end_of_turn>", "<|endoftext|>", "<|eom_id|>", "<EOT>", "_<EOT>", "<|end_of_text|>",
            "<end_of_utterance>");

    /** Tokens llama.cpp recognises by text and makes CONTROL whatever the file says (EOT/EOG/FIM markers). */
    static final Set<String> CONTROL_TEXTS = Set.of("<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>",
            "<|call|>", "<end_of_turn>", "<|endoftext|>", "<|eom_id|>", "<EOT>", "_<EOT>", "<|end_of_text|>",
            "<end_of_utterance>", "<｜end▁of▁sentence｜>",
            "<|fim_prefix|>", "<fim-prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>", "<|code_prefix|>",
            "<|fim_suffix|>", "<fim-suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>", "<|code_suffix|>",
            "<|fim_middle|>", "<fim-middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>", "<|code_middle|>",
            "<|fim_pad|>", "<fim-pad>", "<PAD>", "<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>",
            "<|file_sep|>");

    public Vocabulary {
        int n = tokens.size();
        if (scores.length != n || tokenTypes.length != n) {
            throw new IllegalArgumentException("scores/token types must have one entry per token (" + n + ")");
        }
    }

    public int size() {
        return tokens.size();
    }

    public boolean isBpe() {
        return MODEL_BPE.equals(model);
    }

    /** Reads a vocabulary from GGUF metadata, resolving defaults as llama.cpp does. */
    public static Vocabulary fromGguf(GgufMetadata md) {
        String where = md.source() == null ? "GGUF metadata" : md.source();
        if (!md.has(K_MODEL)) throw new FabricException(where + ": no " + K_MODEL + ", so it has no tokenizer");
        if (!md.has(K_TOKENS)) throw new FabricException(where + ": no " + K_TOKENS);
        String model = md.getString(K_MODEL);
        List<String> tokens = List.copyOf(md.getStringArray(K_TOKENS));
        int n = tokens.size();
        float[] scores = md.has(K_SCORES) ? md.getFloatArray(K_SCORES) : new float[n];
        int[] types = md.has(K_TYPES) ? md.getIntArray(K_TYPES).clone() : filled(n, TokenType.NORMAL.code());
        if (scores.length != n) throw new FabricException(where + ": " + K_SCORES + " has " + scores.length
                + " entries but " + K_TOKENS + " has " + n);
        if (types.length != n) throw new FabricException(where + ": " + K_TYPES + " has " + types.length
                + " entries but " + K_TOKENS + " has " + n);
        String pre = md.has(K_PRE) ? md.getString(K_PRE) : "default";

        int bos, eos, unk;
        boolean addBos, addSpace;
        List<String> merges;
        switch (model) {
            case MODEL_SPM -> {
                bos = 1; eos = 2; unk = 0;
                addBos = true; addSpace = true;
                merges = List.of();
            }
            case MODEL_BPE -> {
                if (!md.has(K_MERGES)) throw new FabricException(where + ": BPE vocabulary without " + K_MERGES);
                bos = 11; eos = 11; unk = -1;
                // llama.cpp turns BOS on for the Llama 3 pre-tokenizer; the file's own flag still wins below.
                addBos = PreTokenizer.isLlama3(pre);
                addSpace = false;
                merges = List.copyOf(md.getStringArray(K_MERGES));
            }
            default -> throw new FabricException(where + ": " + K_MODEL + " = '" + model
                    + "' is not supported (supported: 'gpt2' byte-level BPE, 'llama' SentencePiece)");
        }
        bos = specialId(md, K_BOS, bos, n, where);
        eos = specialId(md, K_EOS, eos, n, where);
        unk = specialId(md, K_UNK, unk, n, where);
        int pad = specialId(md, K_PAD, -1, n, where);
        int eot = specialId(md, K_EOT, -1, n, where);
        int eom = specialId(md, K_EOM, -1, n, where);
        if (md.has(K_ADD_BOS)) addBos = md.getBool(K_ADD_BOS);
        boolean addEos = md.has(K_ADD_EOS) && md.getBool(K_ADD_EOS);
        if (md.has(K_ADD_SPACE)) addSpace = md.getBool(K_ADD_SPACE);

        // The few texts looked up below, to their last id (as llama.cpp's text-to-token table has it).
        Map<String, Integer> byText = new HashMap<>();
        for (int i = 0; i < n; i++) {
            String t = tokens.get(i);
            if (CONTROL_TEXTS.contains(t)) byText.put(t, i);
        }
        if (eot < 0) {
            for (String t : EOT_TEXTS) {
                Integer id = byText.get(t);
                if (id != null) { eot = id; break; }
            }
        }
        if (eom < 0) eom = byText.getOrDefault("<|eom_id|>", -1);
        for (var e : byText.entrySet()) {
            int id = e.getValue();
            if (types[id] != TokenType.CONTROL.code()) {
                LOG.debug("{}: token {} '{}' is treated as a control token", where, id, e.getKey());
                types[id] = TokenType.CONTROL.code();
            }
        }
        return new Vocabulary(model, pre, tokens, scores, types, merges, bos, eos, eot, eom, unk, pad,
                addBos, addEos, addSpace);
    }

    /** A special token id from the file, or the default when absent or out of range (llama.cpp warns and keeps the default). */
    private static int specialId(GgufMetadata md, String key, int dflt, int n, String where) {
        if (!md.has(key)) return dflt;
        long v = md.getLong(key);
        if (v == 0xFFFFFFFFL || v == -1) return dflt; // -1 as uint32: converters write it for "no such token"
        if (v < 0 || v >= n) {
            LOG.warn("{}: {} = {} is outside the vocabulary (0..{}); using {}", where, key, v, n - 1, dflt);
            return dflt;
        }
        return (int) v;
    }

    private static int[] filled(int n, int v) {
        int[] a = new int[n];
        Arrays.fill(a, v);
        return a;
    }
}
