package dev.fabric.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fabric.recipe.Recipe.Format;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Packing, batching and the seeded shuffle. */
class PackingTest {
    /** Examples of random lengths 1..maxLen with random masks; token ids are unique per example and position. */
    private static List<Example> examples(int n, int maxLen, long seed) {
        Random rnd = new Random(seed);
        List<Example> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int len = 1 + rnd.nextInt(maxLen);
            int[] ids = new int[len];
            boolean[] mask = new boolean[len];
            for (int t = 0; t < len; t++) {
                ids[t] = i * 1000 + t;
                mask[t] = rnd.nextBoolean();
            }
            out.add(Example.of("ex:" + i, "ex", Format.TEXT, ids, mask, len));
        }
        return out;
    }

    /**
     * Every example, read back from the packed batches by its segment, has exactly the tokens, targets and
     * positions (0..n-1) it has alone; segments never share a row position; padding has target -1.
     */
    @ParameterizedTest
    @ValueSource(ints = {1, 3})
    void packedExamplesKeepExactlyTheirOwnTokensTargetsAndPositions(int rows) {
        int context = 64;
        List<Example> all = examples(300, context, 7);
        List<Packing.Sequence> seqs = Packing.sequences(all, context, true);
        long tokens = all.stream().mapToInt(Example::size).sum();
        assertTrue(tokens > 0.85 * seqs.size() * context, "first fit fills sequences: " + tokens + " tokens in "
                + seqs.size() + " sequences");
        List<Batch> batches = Packing.batches(seqs, rows, context, 0);
        Map<Integer, Example> byFirstToken = new HashMap<>();
        for (Example e : all) byFirstToken.put(e.tokens()[0], e);
        Set<Integer> seen = new HashSet<>();
        int trained = 0;
        for (Batch b : batches) {
            trained += b.trainedTokens();
            for (int r = 0; r < rows; r++) {
                int t = 0;
                while (t < context) {
                    int at = b.at(r, t);
                    if (b.segments()[at] == 0) {
                        assertEquals(-1, b.targets()[at], "padding is not trained");
                        t++;
                        continue;
                    }
                    int seg = b.segments()[at];
                    int end = t;
                    while (end < context && b.segments()[b.at(r, end)] == seg) end++;
                    int[] tok = Arrays.copyOfRange(b.tokens(), b.at(r, t), b.at(r, end));
                    Example e = byFirstToken.get(tok[0]);
                    assertArrayEquals(e.tokens(), tok);
                    assertArrayEquals(e.targets(), Arrays.copyOfRange(b.targets(), b.at(r, t), b.at(r, end)));
                    int[] pos = Arrays.copyOfRange(b.positions(), b.at(r, t), b.at(r, end));
                    for (int k = 0; k < pos.length; k++) assertEquals(k, pos[k]);
                    assertTrue(seen.add(tok[0]), "each example once");
                    // The next segment in the row has another id.
                    if (end < context) assertNotEquals(seg, b.segments()[b.at(r, end)]);
                    t = end;
                }
            }
        }
        assertEquals(all.size(), seen.size());
        assertEquals(all.stream().mapToInt(Example::trainedCount).sum(), trained);
    }

    @Test
    void withoutPackingEachExampleHasItsOwnRow() {
        List<Example> all = examples(10, 32, 3);
        List<Batch> batches = Packing.batches(Packing.sequences(all, 32, false), 4, 32, 5);
        assertEquals(3, batches.size());
        Batch last = batches.get(2);
        assertEquals(2, last.examples());
        for (int t = 0; t < 32; t++) {
            assertEquals(0, last.segments()[last.at(2, t)], "empty rows complete the last batch");
            assertEquals(5, last.tokens()[last.at(3, t)]);
        }
        Example e = all.get(4);
        Batch b = batches.get(1);
        assertArrayEquals(e.tokens(), Arrays.copyOfRange(b.tokens(), b.at(0, 0), b.at(0, e.size())));
    }

    @Test
    void firstFitFillsEarlierSequences() {
        // Lengths 6, 6, 3, 4 in a context of 10: 6 | 6 | 3 goes with the first 6 | 4 with the second.
        List<Example> ex = new ArrayList<>();
        int[] lens = {6, 6, 3, 4};
        for (int i = 0; i < lens.length; i++) {
            int[] ids = new int[lens[i]];
            Arrays.fill(ids, i);
            ex.add(Example.of("e" + i, "e", Format.TEXT, ids, new boolean[lens[i]], lens[i]));
        }
        List<Packing.Sequence> seqs = Packing.sequences(ex, 10, true);
        assertEquals(2, seqs.size());
        assertEquals(List.of(ex.get(0), ex.get(2)), seqs.get(0).examples());
        assertEquals(List.of(ex.get(1), ex.get(3)), seqs.get(1).examples());
        assertEquals(9, seqs.get(0).size());
    }

    @Test
    void truncationKeepsTheFirstTokensAndEndsWithoutTarget() {
        int[] ids = {10, 11, 12, 13, 14};
        boolean[] mask = {false, true, true, true, true};
        Example e = Example.of("x", "x", Format.TEXT, ids, mask, 3);
        assertArrayEquals(new int[] {10, 11, 12}, e.tokens());
        assertArrayEquals(new int[] {11, 12, -1}, e.targets());
        assertTrue(e.truncated());
        assertEquals(5, e.length());
    }

    @Test
    void shuffleIsSplitMix64FisherYates() {
        // SplitMix64's first output from state 0 (Steele et al.; the reference value of its C code).
        assertEquals(0xE220A8397B1DCDAFL, Shuffle.mix(0x9E3779B97F4A7C15L));
        int[] a = Shuffle.order(1000, 42, 0), b = Shuffle.order(1000, 42, 0), c = Shuffle.order(1000, 42, 1);
        assertArrayEquals(a, b, "the same seed and epoch give the same order");
        assertNotEquals(Arrays.toString(a), Arrays.toString(c), "each epoch has its own order");
        assertNotEquals(Arrays.toString(a), Arrays.toString(Shuffle.order(1000, 43, 0)));
        int[] sorted = a.clone();
        Arrays.sort(sorted);
        for (int i = 0; i < sorted.length; i++) assertEquals(i, sorted[i], "a permutation");
        // Uniform enough: over many orders of 4 items, each item is first about a quarter of the time
        // (2000 draws per seed; 4.5 standard deviations of the binomial is about 87).
        int[] first = new int[4];
        for (int s = 0; s < 8000; s++) first[Shuffle.order(4, s, 0)[0]]++;
        for (int f : first) assertTrue(Math.abs(f - 2000) < 90, Arrays.toString(first));
    }
}
