package dev.fabric.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fabric.FabricException;
import dev.fabric.gguf.GgufMetadata;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Defaults and fix-ups on small hand-made vocabularies, and the errors a user can meet. */
class VocabularyTest {
    /** A SentencePiece vocabulary: unk, bos, eos, the 256 byte tokens, then a few pieces. */
    static GgufMetadata.Builder spm(List<String> extra, float[] extraScores, int[] extraTypes) {
        List<String> tokens = new ArrayList<>(List.of("<unk>", "<s>", "</s>"));
        List<Float> scores = new ArrayList<>(List.of(0f, 0f, 0f));
        List<Integer> types = new ArrayList<>(List.of(2, 3, 3));
        for (int b = 0; b < 256; b++) {
            tokens.add(String.format("<0x%02X>", b));
            scores.add(0f);
            types.add(6);
        }
        for (int i = 0; i < extra.size(); i++) {
            tokens.add(extra.get(i));
            scores.add(extraScores[i]);
            types.add(extraTypes[i]);
        }
        float[] s = new float[scores.size()];
        for (int i = 0; i < s.length; i++) s[i] = scores.get(i);
        return GgufMetadata.builder().source("test.gguf")
                .putString("tokenizer.ggml.model", "llama")
                .putStringArray("tokenizer.ggml.tokens", tokens)
                .putF32Array("tokenizer.ggml.scores", s)
                .putI32Array("tokenizer.ggml.token_type", types.stream().mapToInt(Integer::intValue).toArray());
    }

    static Tokenizer smallSpm() {
        return Tokenizer.fromGguf(spm(List.of("▁", "a", "b", "▁a", "ab", "▁ab", "<|im_end|>", "<|fim_prefix|>"),
                new float[] {-5, -3, -3, -1, -2, -0.5f, 0, 0}, new int[] {1, 1, 1, 1, 1, 1, 1, 4}).build());
    }

    @Test
    void sentencePieceDefaultsAndByteFallback() {
        Tokenizer tok = smallSpm();
        assertEquals(1, tok.bosId());
        assertEquals(2, tok.eosId());
        assertEquals(0, tok.unkId());
        assertTrue(tok.addBosDefault());
        assertFalse(tok.addEosDefault());
        assertTrue(tok.vocabulary().addSpacePrefix());
        // ▁a (-1) beats ab (-2); then ▁a+b spells ▁ab. 'é' is no token: its UTF-8 bytes.
        int[] expected = {1, tok.tokenId("▁ab"), tok.tokenId("▁"), tok.tokenId("<0xC3>"), tok.tokenId("<0xA9>")};
        assertArrayEquals(expected, tok.encode("ab é", true, false));
        assertEquals("ab é", tok.decode(tok.encode("ab é", true, false), false));
        assertEquals("<s>ab é", tok.decode(tok.encode("ab é", true, false)));
    }

    @Test
    void controlLookingTokensBecomeControlAndEndOfTurnIsFoundByText() {
        Tokenizer tok = smallSpm();
        int imEnd = tok.tokenId("<|im_end|>");
        assertEquals(imEnd, tok.eotId());
        assertTrue(tok.isControl(imEnd), "typed NORMAL in the file, control in llama.cpp");
        assertTrue(tok.isControl(tok.tokenId("<|fim_prefix|>")), "typed USER_DEFINED in the file");
        assertTrue(tok.isEndOfGeneration(imEnd));
        assertTrue(tok.isEndOfGeneration(tok.eosId()));
        assertFalse(tok.isEndOfGeneration(tok.bosId()));
        // As control tokens they are plain text unless specials are parsed.
        assertArrayEquals(new int[] {tok.tokenId("▁a"), imEnd}, tok.encode("a<|im_end|>", false, true));
        assertFalse(contains(tok.encode("a<|im_end|>", false, false), imEnd));
    }

    private static boolean contains(int[] a, int v) {
        for (int x : a) if (x == v) return true;
        return false;
    }

    @Test
    void fileValuesOverrideDefaults() {
        Tokenizer tok = Tokenizer.fromGguf(spm(List.of("▁"), new float[] {0}, new int[] {1})
                .putU32("tokenizer.ggml.bos_token_id", 2).putU32("tokenizer.ggml.eos_token_id", 99999)
                .putBool("tokenizer.ggml.add_bos_token", false).putBool("tokenizer.ggml.add_eos_token", true)
                .putBool("tokenizer.ggml.add_space_prefix", false).build());
        assertEquals(2, tok.bosId());
        assertEquals(2, tok.eosId(), "an out-of-range id keeps the default, as llama.cpp does");
        assertFalse(tok.addBosDefault());
        assertTrue(tok.addEosDefault());
        assertArrayEquals(new int[] {tok.tokenId("<0x78>"), 2}, tok.encode("x", true, false));
    }

    static GgufMetadata.Builder bpe(String pre) {
        List<String> tokens = new ArrayList<>();
        for (int b = 0; b < 256; b++) tokens.add(String.valueOf(ByteLevel.charOf(b)));
        tokens.add("ab");
        tokens.add("Ġab");
        return GgufMetadata.builder().source("bpe.gguf")
                .putString("tokenizer.ggml.model", "gpt2").putString("tokenizer.ggml.pre", pre)
                .putStringArray("tokenizer.ggml.tokens", tokens)
                .putStringArray("tokenizer.ggml.merges", List.of("a b", "Ġ ab"));
    }

    @Test
    void bpeDefaults() {
        Tokenizer gpt2 = Tokenizer.fromGguf(bpe("gpt-2").build());
        assertEquals(11, gpt2.bosId(), "llama.cpp's BPE default");
        assertFalse(gpt2.addBosDefault());
        assertEquals(-1, gpt2.eotId());
        // "ab" | " abc": Ġ a b c -> Ġ ab c (rank 0) -> Ġab c (rank 1)
        assertArrayEquals(new int[] {256, 257, gpt2.tokenId("c")}, gpt2.encode("ab abc"));
        Tokenizer llama3 = Tokenizer.fromGguf(bpe("llama-bpe").build());
        assertTrue(llama3.addBosDefault(), "llama.cpp adds BOS for the Llama 3 pre-tokenizer");
        assertEquals(11, llama3.encode("ab")[0]);
    }

    @Test
    void errorsNameTheFieldAtFault() {
        var model = assertThrows(FabricException.class, () -> Tokenizer.fromGguf(bpe("gpt-2")
                .replace("tokenizer.ggml.model", dev.fabric.gguf.GgufValue.string("wpm")).build()));
        assertTrue(model.getMessage().contains("'wpm'") && model.getMessage().contains("bpe.gguf"), model.getMessage());
        var pre = assertThrows(FabricException.class, () -> Tokenizer.fromGguf(bpe("no-such-pre").build()));
        assertTrue(pre.getMessage().contains("'no-such-pre'"), pre.getMessage());
        var merges = assertThrows(FabricException.class, () -> Tokenizer.fromGguf(bpe("gpt-2").remove("tokenizer.ggml.merges").build()));
        assertTrue(merges.getMessage().contains("tokenizer.ggml.merges"), merges.getMessage());
        var none = assertThrows(FabricException.class, () -> Tokenizer.fromGguf(GgufMetadata.builder().build()));
        assertTrue(none.getMessage().contains("tokenizer.ggml.model"), none.getMessage());
    }
}
