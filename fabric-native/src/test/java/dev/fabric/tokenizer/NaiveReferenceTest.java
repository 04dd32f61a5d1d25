package dev.fabric.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The fast tokenizers (id pairs in a hash table, heaps, word caches, SentencePiece cut at spaces) against
 * the textbook algorithms written out on strings: repeatedly merge the best adjacent pair. Random texts,
 * including single words long enough to take the heap path.
 */
class NaiveReferenceTest {
    /** Random text: words of letters from several scripts, digits, punctuation and whitespace. */
    static List<String> randomTexts(long seed, String alphabet, int count, int maxLen) {
        int[] cps = alphabet.codePoints().toArray();
        Random r = new Random(seed);
        List<String> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            StringBuilder sb = new StringBuilder();
            int len = 1 + r.nextInt(maxLen);
            for (int k = 0; k < len; k++) sb.appendCodePoint(cps[r.nextInt(cps.length)]);
            out.add(sb.toString());
        }
        return out;
    }

    static final String MIXED = "etaoinshrdlucmfwypvbgkqjxzETAOIN  \n\t0123456789.,;'-()éαβЖж中文医疗한국어カタ🩺💊";
    static final String LETTERS = "etaoinshrdlucmfwypvbgkqjxz中文医疗患者血压한국어";

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"qwen3", "gpt-2", "deepseek-llm"})
    void bpeMatchesStringMerging(String vocab) {
        Tokenizer tok = RefVocabs.tokenizer(vocab);
        Vocabulary v = tok.vocabulary();
        Map<String, Integer> rank = new HashMap<>();
        for (int i = 0; i < v.merges().size(); i++) rank.putIfAbsent(v.merges().get(i), i);
        PreTokenizer pre = PreTokenizer.forName(v.pre());
        List<String> texts = new ArrayList<>(randomTexts(1, MIXED, 150, 80));
        texts.addAll(randomTexts(2, LETTERS, 30, 300)); // one long word each: the heap path
        for (String text : texts) {
            List<Integer> expected = new ArrayList<>();
            for (String word : PreTokenizerTest.split(pre, text)) {
                for (String piece : bpe(word, rank)) expected.add(tok.tokenId(piece));
            }
            int[] got = tok.encode(text, false, false);
            assertEquals(expected, Arrays.stream(got).boxed().toList(), () -> vocab + ": " + text);
        }
    }

    /** Textbook byte-level BPE on strings: spell the bytes, merge the lowest-ranked pair (leftmost) until none. */
    static List<String> bpe(String word, Map<String, Integer> rank) {
        List<String> sym = new ArrayList<>();
        for (byte b : word.getBytes(StandardCharsets.UTF_8)) sym.add(String.valueOf(ByteLevel.charOf(b)));
        while (true) {
            int best = -1, bestRank = Integer.MAX_VALUE;
            for (int i = 0; i + 1 < sym.size(); i++) {
                Integer r = rank.get(sym.get(i) + " " + sym.get(i + 1));
                if (r != null && r < bestRank) {
                    bestRank = r;
                    best = i;
                }
            }
            if (best < 0) return sym;
            sym.set(best, sym.get(best) + sym.remove(best + 1));
        }
    }

    @Test
    void sentencePieceMatchesStringMerging() {
        Tokenizer tok = RefVocabs.tokenizer("llama-spm");
        Vocabulary v = tok.vocabulary();
        List<String> texts = new ArrayList<>(randomTexts(3, MIXED, 150, 80));
        texts.addAll(randomTexts(4, LETTERS, 30, 300));
        texts.addAll(randomTexts(5, "ab ▁\n", 50, 40));
        for (String text : texts) {
            List<Integer> expected = new ArrayList<>();
            expected.add(v.bosId());
            for (String piece : spm(("▁" + text).replace(' ', '▁'), tok)) {
                int id = tok.tokenId(piece);
                if (id >= 0) {
                    expected.add(id);
                } else {
                    for (byte b : piece.getBytes(StandardCharsets.UTF_8)) expected.add(tok.tokenId(String.format("<0x%02X>", b & 0xFF)));
                }
            }
            int[] got = tok.encode(text, true, false);
            assertEquals(expected, Arrays.stream(got).boxed().toList(), () -> "'" + text + "'");
        }
    }

    /** Textbook SentencePiece BPE: characters, then merge the adjacent pair that spells the best-scored token. */
    static List<String> spm(String text, Tokenizer tok) {
        List<String> sym = new ArrayList<>();
        text.codePoints().forEach(c -> sym.add(new String(Character.toChars(c))));
        float[] scores = tok.vocabulary().scores();
        while (true) {
            int best = -1;
            float bestScore = 0;
            for (int i = 0; i + 1 < sym.size(); i++) {
                int id = tok.tokenId(sym.get(i) + sym.get(i + 1));
                if (id >= 0 && (best < 0 || scores[id] > bestScore)) {
                    bestScore = scores[id];
                    best = i;
                }
            }
            if (best < 0) return sym;
            sym.set(best, sym.get(best) + sym.remove(best + 1));
        }
    }

    @Test
    void heapAndScanMergeAlike() {
        // A merge table over ids 0..5 (rank = priority, results 6..): random sequences, both paths.
        PairMap pairs = new PairMap(64);
        Random r = new Random(9);
        int next = 6;
        for (int a = 0; a < 12; a++) {
            for (int b = 0; b < 12; b++) {
                if (r.nextInt(3) == 0) pairs.putIfAbsent(a, b, r.nextInt(20), next++ % 12);
            }
        }
        for (int t = 0; t < 2000; t++) {
            int n = 2 + r.nextInt(60);
            int[] s1 = new int[n], st1 = new int[n];
            for (int i = 0; i < n; i++) {
                s1[i] = r.nextInt(12);
                st1[i] = i;
            }
            int[] s2 = s1.clone(), st2 = st1.clone();
            int m1 = Merger.mergeSmall(pairs, s1, st1, n);
            int m2 = Merger.mergeLarge(pairs, s2, st2, n);
            assertArrayEquals(Arrays.copyOf(s1, m1), Arrays.copyOf(s2, m2));
            assertArrayEquals(Arrays.copyOf(st1, m1), Arrays.copyOf(st2, m2));
        }
    }
}
