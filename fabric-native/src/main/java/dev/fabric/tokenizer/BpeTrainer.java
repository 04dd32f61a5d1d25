package dev.fabric.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Learns a byte-level BPE vocabulary (GPT-2 style, {@code tokenizer.ggml.model = gpt2}) from a corpus, so that
 * Fabric can make its own small models without a third-party tokenizer. The text is cut into words by the
 * same pre-tokenizer the vocabulary will name ({@code tokenizer.ggml.pre}), each word's UTF-8 bytes start as
 * the 256 byte symbols, and the most frequent adjacent pair over the corpus is merged, again and again, until
 * the vocabulary has the size asked for, or no pair occurs twice (Sennrich et al. 2016, "Neural Machine Translation of Rare Words with
 * Subword Units", section 3.2, applied to bytes as GPT-2 does).
 *
 * <p>Deterministic: ties between equally frequent pairs go to the pair whose spelling sorts first, so the same
 * corpus always gives the same merges. The result is a {@link Vocabulary}: ids 0..255 are the bytes in byte
 * order, then one token per merge in merge order, then the special tokens (CONTROL).
 */
public final class BpeTrainer {
    /** What training made: the vocabulary, and the corpus length in symbols before and after the merges. */
    public record Result(Vocabulary vocabulary, long symbolsBefore, long symbolsAfter) {}

    private BpeTrainer() {}

    /**
     * @param texts     the corpus, document by document (special tokens are not parsed inside it)
     * @param pre       the pre-tokenizer name to split with and to record ({@code qwen2}, {@code gpt-2}, ...)
     * @param vocabSize tokens wanted in all, the specials included (at least 256 + specials)
     * @param specials  special tokens appended after the merges, e.g. {@code <|endoftext|>}, {@code <|im_start|>}
     * @param eos       which special is end of sequence (also BOS: byte-level BPE models use one token)
     */
    public static Result train(Iterable<String> texts, String pre, int vocabSize, List<String> specials, String eos) {
        int nMerges = vocabSize - 256 - specials.size();
        if (nMerges < 0) throw new IllegalArgumentException("vocabSize " + vocabSize + " < 256 bytes + "
                + specials.size() + " specials");
        if (!specials.contains(eos)) throw new IllegalArgumentException("eos '" + eos + "' is not among the specials");

        // Unique words with their counts; the order of first appearance keeps everything deterministic.
        PreTokenizer split = PreTokenizer.forName(pre);
        Map<String, Integer> wordIndex = new HashMap<>();
        List<int[]> words = new ArrayList<>();
        List<long[]> counts = new ArrayList<>();
        IntList ends = new IntList(64);
        for (String text : texts) {
            int[] cps = text.codePoints().toArray();
            ends.clear();
            split.split(cps, 0, cps.length, ends);
            int start = 0;
            for (int w = 0; w < ends.size(); w++) {
                int end = ends.get(w);
                String word = new String(cps, start, end - start);
                start = end;
                Integer id = wordIndex.get(word);
                if (id == null) {
                    id = words.size();
                    wordIndex.put(word, id);
                    byte[] b = word.getBytes(StandardCharsets.UTF_8);
                    int[] syms = new int[b.length];
                    for (int i = 0; i < b.length; i++) syms[i] = b[i] & 0xFF;
                    words.add(syms);
                    counts.add(new long[1]);
                }
                counts.get(id)[0]++;
            }
        }

        List<String> spelling = new ArrayList<>(vocabSize);
        for (int b = 0; b < 256; b++) spelling.add(String.valueOf(ByteLevel.charOf(b)));
        long before = 0;
        for (int w = 0; w < words.size(); w++) before += words.get(w).length * counts.get(w)[0];

        // Pair counts over the corpus, kept up to date merge by merge: only the words that hold the merged pair
        // change, so only their pairs are recounted (the words holding a pair are indexed, lazily: an entry may
        // name a word that no longer holds it, which the update skips).
        Map<Long, long[]> pairCounts = new HashMap<>();
        Map<Long, List<Integer>> pairWords = new HashMap<>();
        for (int w = 0; w < words.size(); w++) count(words.get(w), counts.get(w)[0], w, pairCounts, pairWords);

        List<String> merges = new ArrayList<>(nMerges);
        for (int m = 0; m < nMerges; m++) {
            long best = -1, bestCount = 0;
            String bestText = null;
            for (var e : pairCounts.entrySet()) {
                long c = e.getValue()[0];
                if (c < bestCount || c == 0) continue;
                long p = e.getKey();
                String text = spelling.get((int) (p >>> 32)) + " " + spelling.get((int) p);
                if (c > bestCount || text.compareTo(bestText) < 0) {
                    best = p;
                    bestCount = c;
                    bestText = text;
                }
            }
            if (best < 0 || bestCount < 2) break; // nothing left worth a token
            int a = (int) (best >>> 32), b = (int) best, merged = spelling.size();
            spelling.add(spelling.get(a) + spelling.get(b));
            merges.add(bestText);
            List<Integer> holders = pairWords.remove(best);
            int last = -1;
            for (int w : holders) {
                if (w == last) continue; // a word is listed once per occurrence of the pair
                last = w;
                int[] old = words.get(w), now = apply(old, a, b, merged);
                if (now == old) continue;
                long c = counts.get(w)[0];
                count(old, -c, -1, pairCounts, null);
                count(now, c, w, pairCounts, pairWords);
                words.set(w, now);
            }
            pairCounts.remove(best);
        }
        long after = 0;
        for (int w = 0; w < words.size(); w++) after += words.get(w).length * counts.get(w)[0];

        List<String> tokens = new ArrayList<>(spelling);
        tokens.addAll(specials);
        int n = tokens.size();
        int[] types = new int[n];
        Arrays.fill(types, TokenType.NORMAL.code());
        for (int i = n - specials.size(); i < n; i++) types[i] = TokenType.CONTROL.code();
        int eosId = tokens.lastIndexOf(eos);
        int eotId = tokens.indexOf("<|im_end|>");
        Vocabulary v = new Vocabulary(Vocabulary.MODEL_BPE, pre, List.copyOf(tokens), new float[n], types,
                List.copyOf(merges), eosId, eosId, eotId, -1, -1, -1, false, false, false);
        return new Result(v, before, after);
    }

    /** Adds {@code c} occurrences of each adjacent pair of {@code s} to the counts, and indexes word {@code w}. */
    private static void count(int[] s, long c, int w, Map<Long, long[]> counts, Map<Long, List<Integer>> holders) {
        for (int i = 0; i + 1 < s.length; i++) {
            long p = pair(s[i], s[i + 1]);
            long[] n = counts.get(p);
            if (n == null) counts.put(p, n = new long[1]);
            n[0] += c;
            if (holders != null) {
                List<Integer> list = holders.computeIfAbsent(p, k -> new ArrayList<>());
                if (list.isEmpty() || list.get(list.size() - 1) != w) list.add(w);
            }
        }
    }

    private static long pair(int a, int b) {
        return ((long) a << 32) | (b & 0xFFFFFFFFL);
    }

    /** The word with every non-overlapping (a, b), left to right, replaced by {@code merged}. */
    private static int[] apply(int[] s, int a, int b, int merged) {
        int n = 0;
        int[] out = null;
        for (int i = 0; i < s.length; i++) {
            if (i + 1 < s.length && s[i] == a && s[i + 1] == b) {
                if (out == null) {
                    out = new int[s.length - 1];
                    System.arraycopy(s, 0, out, 0, i);
                    n = i;
                }
                out[n++] = merged;
                i++;
            } else if (out != null) {
                out[n++] = s[i];
            }
        }
        return out == null ? s : Arrays.copyOf(out, n);
    }
}
