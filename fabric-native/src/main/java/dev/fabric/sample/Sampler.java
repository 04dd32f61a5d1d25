package dev.fabric.sample;

import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.HashMap;
import java.util.SplittableRandom;

/**
 * Picks the next token from a row of logits with llama.cpp's default sampler chain order: repetition penalties
 * (see {@link Penalties}; tokens are counted from {@link #accept}), top-k, then top-p, then
 * min-p (each on the candidates the previous step left, probabilities from a softmax of their raw logits), then the
 * temperature, then a draw from the softmax of what is left. Temperature 0 or less is greedy. Draws come from a
 * {@link SplittableRandom} seeded once, so a run is reproducible.
 */
public final class Sampler {
    private final SamplerConfig config;
    private final Penalties penalties;
    private final SplittableRandom random;
    private final ArrayDeque<Integer> recent = new ArrayDeque<>();
    private final HashMap<Integer, Integer> counts = new HashMap<>();

    public Sampler(SamplerConfig config) {
        this(config, Penalties.NONE);
    }

    public Sampler(SamplerConfig config, Penalties penalties) {
        this.config = config;
        this.penalties = penalties;
        this.random = new SplittableRandom(config.seed());
    }

    /** Records a token of the context (prompt or output) for the repetition penalties. */
    public void accept(int token) {
        if (penalties.off()) return;
        recent.addLast(token);
        counts.merge(token, 1, Integer::sum);
        if (penalties.lastN() > 0 && recent.size() > penalties.lastN()) {
            int old = recent.removeFirst();
            if (counts.merge(old, -1, Integer::sum) == 0) counts.remove(old);
        }
    }

    /** The row with the penalties applied (a copy), or the row itself when they are off or nothing was seen. */
    private float[] penalised(float[] logits, int offset, int vocab) {
        if (penalties.off() || counts.isEmpty()) return logits;
        float[] row = Arrays.copyOfRange(logits, offset, offset + vocab);
        for (var e : counts.entrySet()) {
            int t = e.getKey(), c = e.getValue();
            if (t < 0 || t >= vocab) continue;
            float l = row[t];
            l = l <= 0 ? l * penalties.repeat() : l / penalties.repeat();
            row[t] = l - (c * penalties.frequency() + penalties.presence());
        }
        return row;
    }

    public SamplerConfig config() {
        return config;
    }

    /** The candidates the chain leaves and their final probabilities, most likely first. */
    public record Candidates(int[] ids, double[] probs) {}

    /** The next token for {@code logits[offset .. offset + vocab)}. */
    public int sample(float[] logits, int offset, int vocab) {
        float[] row = penalised(logits, offset, vocab);
        if (row != logits) {
            logits = row;
            offset = 0;
        }
        if (config.isGreedy()) return argmax(logits, offset, vocab);
        Candidates c = candidates(logits, offset, vocab);
        double u = random.nextDouble(), acc = 0;
        for (int i = 0; i < c.ids.length; i++) {
            acc += c.probs[i];
            if (u < acc) return c.ids[i];
        }
        return c.ids[c.ids.length - 1]; // u beyond the rounded total
    }

    public int sample(float[] logits) {
        return sample(logits, 0, logits.length);
    }

    /** The most likely token, the lowest id among equals. */
    public static int argmax(float[] logits, int offset, int vocab) {
        int best = 0;
        for (int i = 1; i < vocab; i++) if (logits[offset + i] > logits[offset + best]) best = i;
        return best;
    }

    /** The filtered, temperature-scaled distribution (not greedy configs). */
    public Candidates candidates(float[] logits, int offset, int vocab) {
        // ids sorted by logit, descending, ties by lower id: one primitive sort of (sortable logit bits, ~id) keys
        long[] keys = new long[vocab];
        for (int i = 0; i < vocab; i++) {
            int bits = Float.floatToIntBits(logits[offset + i]);
            bits ^= (bits >> 31) & 0x7fffffff; // IEEE order as signed int order
            keys[i] = ((long) bits << 32) | (vocab - 1 - i);
        }
        Arrays.sort(keys);
        int[] order = new int[vocab];
        for (int i = 0; i < vocab; i++) order[i] = vocab - 1 - (int) (keys[vocab - 1 - i] & 0xffffffffL);
        int n = vocab;
        if (config.topK() > 0) n = Math.min(n, config.topK());
        float max = logits[offset + order[0]];
        if (config.topP() < 1) {
            double[] p = softmax(logits, offset, order, n, 1f);
            double cum = 0;
            int keep = n;
            for (int i = 0; i < n; i++) {
                cum += p[i];
                if (cum >= config.topP()) {
                    keep = i + 1;
                    break;
                }
            }
            n = keep;
        }
        if (config.minP() > 0) {
            // p_i >= minP * p_max  <=>  logit_i >= max + ln(minP)
            double floor = max + Math.log(config.minP());
            int keep = 1;
            while (keep < n && logits[offset + order[keep]] >= floor) keep++;
            n = keep;
        }
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) ids[i] = order[i];
        return new Candidates(ids, softmax(logits, offset, order, n, config.temperature()));
    }

    private static double[] softmax(float[] logits, int offset, int[] order, int n, float temp) {
        double[] p = new double[n];
        double max = logits[offset + order[0]] / (double) temp, sum = 0;
        for (int i = 0; i < n; i++) sum += p[i] = Math.exp(logits[offset + order[i]] / (double) temp - max);
        for (int i = 0; i < n; i++) p[i] /= sum;
        return p;
    }
}
