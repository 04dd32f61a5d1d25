package dev.fabric.sample;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The sampler chain against a naive reference written from the definitions (probabilities of the full softmax,
 * sets by explicit search), and its draws against the distribution within binomial bounds.
 */
class SamplerTest {
    /** Naive: sorted by probability; each filter recomputes probabilities over what is left. */
    private static List<Integer> reference(float[] logits, int topK, float topP, float minP) {
        List<Integer> ids = new ArrayList<>();
        for (int i = 0; i < logits.length; i++) ids.add(i);
        ids.sort((a, b) -> logits[a] != logits[b] ? Float.compare(logits[b], logits[a]) : Integer.compare(a, b));
        if (topK > 0 && topK < ids.size()) ids = new ArrayList<>(ids.subList(0, topK));
        if (topP < 1) {
            double[] p = probs(logits, ids, 1);
            List<Integer> kept = new ArrayList<>();
            double cum = 0;
            for (int i = 0; i < ids.size(); i++) {
                kept.add(ids.get(i));
                cum += p[i];
                if (cum >= topP) break;
            }
            ids = kept;
        }
        if (minP > 0) {
            double[] p = probs(logits, ids, 1);
            List<Integer> kept = new ArrayList<>();
            for (int i = 0; i < ids.size(); i++) if (i == 0 || p[i] >= minP * p[0]) kept.add(ids.get(i));
            ids = kept;
        }
        return ids;
    }

    private static double[] probs(float[] logits, List<Integer> ids, double temp) {
        double[] p = new double[ids.size()];
        double sum = 0;
        for (int i = 0; i < p.length; i++) sum += p[i] = Math.exp(logits[ids.get(i)] / temp);
        for (int i = 0; i < p.length; i++) p[i] /= sum;
        return p;
    }

    @Test
    void filteredSets_matchTheNaiveChain() {
        Random r = new Random(1);
        int[] ks = {0, 1, 5, 40};
        float[] ps = {1f, 0.95f, 0.5f, 0.1f};
        float[] mins = {0f, 0.05f, 0.3f};
        for (int trial = 0; trial < 30; trial++) {
            float[] logits = new float[200];
            for (int i = 0; i < logits.length; i++) logits[i] = (float) (r.nextGaussian() * (1 + trial % 4));
            for (int k : ks)
                for (float p : ps)
                    for (float m : mins) {
                        float temp = 0.3f + trial % 3 * 0.5f;
                        Sampler s = new Sampler(new SamplerConfig(temp, k, p, m, 0));
                        Sampler.Candidates c = s.candidates(logits, 0, logits.length);
                        List<Integer> want = reference(logits, k, p, m);
                        assertArrayEquals(want.stream().mapToInt(Integer::intValue).toArray(), c.ids(),
                                "k " + k + " p " + p + " min-p " + m);
                        double[] wantP = probs(logits, want, temp);
                        for (int i = 0; i < wantP.length; i++) assertEquals(wantP[i], c.probs()[i], 1e-12);
                    }
        }
    }

    @Test
    void draws_followTheDistribution() {
        float[] logits = {2.0f, 1.5f, 1.0f, 0.2f, -1f, -3f};
        SamplerConfig cfg = new SamplerConfig(0.8f, 0, 1f, 0f, 12345);
        Sampler s = new Sampler(cfg);
        int n = 40_000;
        int[] counts = new int[logits.length];
        for (int i = 0; i < n; i++) counts[s.sample(logits)]++;
        double[] p = new double[logits.length];
        double sum = 0;
        for (int i = 0; i < p.length; i++) sum += p[i] = Math.exp(logits[i] / 0.8);
        for (int i = 0; i < p.length; i++) {
            p[i] /= sum;
            double sd = Math.sqrt(n * p[i] * (1 - p[i]));
            // 5 sigma: a false failure has probability < 1e-6 per token
            assertTrue(Math.abs(counts[i] - n * p[i]) < 5 * sd + 1, "token " + i + ": " + counts[i] + " vs " + n * p[i]);
        }
    }

    @Test
    void filteredTokensAreNeverDrawn_andSeedsReproduce() {
        float[] logits = {3f, 2.9f, 0f, -0.5f, -5f};
        Sampler a = new Sampler(new SamplerConfig(1f, 2, 1f, 0f, 99)), b = new Sampler(new SamplerConfig(1f, 2, 1f, 0f, 99));
        boolean saw0 = false, saw1 = false;
        for (int i = 0; i < 2000; i++) {
            int x = a.sample(logits);
            assertEquals(x, b.sample(logits));
            assertTrue(x <= 1, "top-k 2 drew " + x);
            saw0 |= x == 0;
            saw1 |= x == 1;
        }
        assertTrue(saw0 && saw1);
    }

    @Test
    void temperatureZero_isArgmaxLowestIdAmongEquals() {
        Sampler s = new Sampler(SamplerConfig.greedy());
        assertEquals(1, s.sample(new float[] {0f, 5f, 5f, -1f}));
        assertEquals(3, s.sample(new float[] {0f, 1f, 2f, 3f}));
    }

    /**
     * Penalties against a naive count over the window: greedy picks the argmax of the penalised logits. Counts
     * follow the last N accepted tokens.
     */
    @Test
    void penalties_matchNaiveWindowCounts() {
        Random r = new Random(5);
        for (int trial = 0; trial < 200; trial++) {
            int vocab = 2 + r.nextInt(40), lastN = r.nextInt(4) == 0 ? -1 : r.nextInt(12);
            Penalties pen = new Penalties(0.5f + 2 * r.nextFloat(), lastN, r.nextFloat() - 0.3f, r.nextFloat() - 0.3f);
            Sampler greedy = new Sampler(SamplerConfig.greedy(), pen);
            List<Integer> seen = new ArrayList<>();
            for (int step = 0; step < 30; step++) {
                float[] logits = new float[vocab];
                for (int i = 0; i < vocab; i++) logits[i] = (float) (r.nextGaussian() * 3);
                float[] want = logits.clone();
                int from = lastN < 0 ? 0 : Math.max(0, seen.size() - lastN);
                int[] count = new int[vocab];
                for (int i = from; i < seen.size(); i++) count[seen.get(i)]++;
                if (lastN != 0)
                    for (int t = 0; t < vocab; t++)
                        if (count[t] > 0) {
                            float l = want[t] <= 0 ? want[t] * pen.repeat() : want[t] / pen.repeat();
                            want[t] = l - (count[t] * pen.frequency() + pen.presence());
                        }
                float[] copy = logits.clone();
                assertEquals(Sampler.argmax(want, 0, vocab), greedy.sample(logits, 0, vocab), "trial " + trial);
                assertArrayEquals(copy, logits, "the caller's logits are left alone");
                int t = r.nextInt(vocab);
                seen.add(t);
                greedy.accept(t);
            }
        }
    }

    @Test
    void penalties_pushAGreedyLoopOffItsToken() {
        float[] logits = {3f, 2.9f, -1f};
        Sampler plain = new Sampler(SamplerConfig.greedy());
        Sampler penalised = new Sampler(SamplerConfig.greedy(), new Penalties(1.1f, 64, 0f, 0f));
        plain.accept(0);
        penalised.accept(0);
        assertEquals(0, plain.sample(logits));
        assertEquals(1, penalised.sample(logits)); // 3 / 1.1 = 2.73 < 2.9
        Sampler negative = new Sampler(SamplerConfig.greedy(), new Penalties(2f, 64, 0f, 0f));
        float[] neg = {-1f, -1.5f};
        negative.accept(0);
        assertEquals(1, negative.sample(neg)); // -1 * 2 = -2 < -1.5
    }
}
