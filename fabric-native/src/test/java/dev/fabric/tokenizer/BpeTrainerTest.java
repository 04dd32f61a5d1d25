package dev.fabric.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class BpeTrainerTest {
    private static final List<String> SPECIALS = List.of("<|endoftext|>", "<|im_start|>", "<|im_end|>");

    /** Sentences from a few words in random order, with digits, punctuation and some non-ASCII. */
    private static List<String> corpus(long seed, int n) {
        String[] words = {"the", "ward", "visiting", "hours", "are", "nurse", "dose", "of", "café", "naïve", "東京",
                "12:00", "to", "is", "given", "by", "mouth", "?", "!", "twice", "daily", "mg", "250"};
        SplittableRandom r = new SplittableRandom(seed);
        List<String> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            StringBuilder b = new StringBuilder();
            int len = 3 + r.nextInt(12);
            for (int w = 0; w < len; w++) b.append(w == 0 ? "" : r.nextInt(9) == 0 ? "\n" : " ").append(words[r.nextInt(words.length)]);
            out.add(b.toString());
        }
        return out;
    }

    @Test
    void trainedVocabulary_encodesItsCorpusToTheCountTheTrainerReports() {
        List<String> texts = corpus(3, 2000);
        BpeTrainer.Result r = BpeTrainer.train(texts, "qwen2", 300, SPECIALS, "<|endoftext|>");
        Vocabulary v = r.vocabulary();
        assertEquals(300, v.size());
        assertEquals(300 - 256 - 3, v.merges().size());
        assertTrue(r.symbolsAfter() < r.symbolsBefore() * 0.7, r.symbolsBefore() + " -> " + r.symbolsAfter());

        // The production encoder (an independent implementation of applying merges by rank) must agree with
        // the trainer's own bookkeeping, symbol for symbol, and decode back to the text.
        Tokenizer tok = Tokenizer.of(v);
        long total = 0;
        for (String t : texts) {
            int[] ids = tok.encode(t, false, false);
            total += ids.length;
            assertEquals(t, tok.decode(ids));
        }
        assertEquals(r.symbolsAfter(), total);
    }

    @Test
    void specials_areControlTokensParsedWhole() {
        Vocabulary v = BpeTrainer.train(corpus(4, 200), "qwen2", 300, SPECIALS, "<|endoftext|>").vocabulary();
        Tokenizer tok = Tokenizer.of(v);
        int start = v.tokens().indexOf("<|im_start|>");
        int[] ids = tok.encode("<|im_start|>user", false, true);
        assertEquals(start, ids[0]);
        assertTrue(tok.isControl(start));
        assertEquals(v.tokens().indexOf("<|endoftext|>"), tok.eosId());
        assertEquals(v.tokens().indexOf("<|im_end|>"), tok.eotId());
    }

    @Test
    void training_isDeterministic() {
        List<String> texts = corpus(5, 500);
        assertEquals(BpeTrainer.train(texts, "qwen2", 350, SPECIALS, "<|endoftext|>").vocabulary().merges(),
                BpeTrainer.train(texts, "qwen2", 350, SPECIALS, "<|endoftext|>").vocabulary().merges());
    }
}
