package dev.fabric.data;

import dev.fabric.gguf.GgufArray;
import dev.fabric.gguf.GgufFile;
import dev.fabric.gguf.GgufMetadata;
import dev.fabric.gguf.GgufValue;
import dev.fabric.gguf.GgufValueType;
import dev.fabric.testing.SharedRef;
import dev.fabric.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Tokenizers for the tests: Qwen3's real vocabulary (../shared/ref), and the same byte-level BPE with
 * Llama 3's or Gemma's control tokens added (no Llama 3 or Gemma vocabulary is among the references; the
 * turn format and the masks are what matter, and those are decided by the control tokens).
 */
final class Vocabs {
    private Vocabs() {}

    private static GgufMetadata qwen3;
    private static Tokenizer qwen3Tok, llama3Tok, gemmaTok;

    static Path qwen3Path() {
        return SharedRef.require("models/ggml-vocab-qwen3.gguf");
    }

    static synchronized GgufMetadata qwen3Metadata() {
        if (qwen3 == null) {
            try (GgufFile f = GgufFile.open(qwen3Path())) {
                qwen3 = f.metadata();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return qwen3;
    }

    static synchronized Tokenizer qwen3() {
        if (qwen3Tok == null) qwen3Tok = Tokenizer.fromGguf(qwen3Metadata());
        return qwen3Tok;
    }

    static synchronized Tokenizer llama3() {
        if (llama3Tok == null) {
            llama3Tok = Tokenizer.fromGguf(withControls(
                    List.of("<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"), null));
        }
        return llama3Tok;
    }

    static synchronized Tokenizer gemma() {
        if (gemmaTok == null) {
            gemmaTok = Tokenizer.fromGguf(withControls(List.of("<bos>", "<start_of_turn>", "<end_of_turn>"), "<end_of_turn>"));
        }
        return gemmaTok;
    }

    /** Qwen3's vocabulary plus control tokens; the first is BOS (added by default), {@code eos} (if given) EOS. */
    static GgufMetadata withControls(List<String> added, String eos) {
        GgufMetadata md = qwen3Metadata();
        List<String> tokens = new ArrayList<>(md.getStringArray("tokenizer.ggml.tokens"));
        int[] types = md.getIntArray("tokenizer.ggml.token_type");
        int first = tokens.size();
        tokens.addAll(added);
        int[] moreTypes = Arrays.copyOf(types, tokens.size());
        Arrays.fill(moreTypes, first, tokens.size(), 3); // CONTROL
        GgufMetadata.Builder b = md.toBuilder()
                .replace("tokenizer.ggml.tokens", new GgufValue(GgufValueType.ARRAY, GgufArray.ofStrings(tokens)))
                .replace("tokenizer.ggml.token_type", new GgufValue(GgufValueType.ARRAY,
                        GgufArray.of(GgufValueType.INT32, moreTypes)))
                .putU32("tokenizer.ggml.bos_token_id", first)
                .replace("tokenizer.ggml.add_bos_token", GgufValue.bool(true));
        if (eos != null) b.putU32("tokenizer.ggml.eos_token_id", first + added.indexOf(eos));
        return b.build();
    }
}
