package dev.fabric.eval;

import java.util.Arrays;

/**
 * Accumulates llama-perplexity's {@code --kl-divergence} statistics, row by row: KL(base || model) of the next-token
 * distributions, whether both put the same token on top, and both models' perplexities. The base row comes from a
 * {@link LogitsFile} (16-bit log-probs), renormalised here so that KL is never negative and a model compared with
 * itself gives ~0 (the quantisation error squared).
 */
public final class KlDivergence {
    private double sumKld, sumKld2, nllModel, nllBase;
    private long count, sameTop;
    private double[] klds = new double[1024];

    /** One scored row: base log-probs (from the file) and the model's logits, with the true next token. */
    public void add(float[] baseLogProbs, float[] logits, int offset, int vocab, int next) {
        double baseMax = Double.NEGATIVE_INFINITY;
        int baseTop = 0;
        for (int j = 0; j < vocab; j++)
            if (baseLogProbs[j] > baseMax) {
                baseMax = baseLogProbs[j];
                baseTop = j;
            }
        double baseSum = 0;
        for (int j = 0; j < vocab; j++) baseSum += Math.exp(baseLogProbs[j] - baseMax);
        double baseLse = baseMax + Math.log(baseSum);

        float max = Float.NEGATIVE_INFINITY;
        int top = 0;
        for (int j = 0; j < vocab; j++)
            if (logits[offset + j] > max) {
                max = logits[offset + j];
                top = j;
            }
        double sum = 0;
        for (int j = 0; j < vocab; j++) sum += Math.exp(logits[offset + j] - max);
        double lse = max + Math.log(sum);

        double kld = 0;
        for (int j = 0; j < vocab; j++) {
            double lb = baseLogProbs[j] - baseLse, lm = logits[offset + j] - lse;
            kld += Math.exp(lb) * (lb - lm);
        }
        kld = Math.max(0, kld); // rounding below zero
        if (count == klds.length) klds = Arrays.copyOf(klds, klds.length * 2);
        klds[(int) count] = kld;
        count++;
        sumKld += kld;
        sumKld2 += kld * kld;
        if (top == baseTop) sameTop++;
        nllModel -= logits[offset + next] - lse;
        nllBase -= baseLogProbs[next] - baseLse;
    }

    public long count() {
        return count;
    }

    public double meanKld() {
        return sumKld / count;
    }

    /** Standard error of the mean KLD: sqrt(var / (n - 1)), as llama-perplexity reports its uncertainty. */
    public double meanKldError() {
        if (count < 2) return 0;
        double m = meanKld(), var = sumKld2 / count - m * m;
        return Math.sqrt(Math.max(0, var) / (count - 1));
    }

    public double maxKld() {
        double m = 0;
        for (int i = 0; i < count; i++) m = Math.max(m, klds[i]);
        return m;
    }

    /** The q-quantile (0..1) of the per-token KLD, nearest rank. */
    public double kldQuantile(double q) {
        double[] s = Arrays.copyOf(klds, (int) count);
        Arrays.sort(s);
        return s[(int) Math.min(count - 1, Math.max(0, Math.round(q * (count - 1))))];
    }

    /** Fraction of rows where the model's most likely token is the base model's. */
    public double sameTop() {
        return (double) sameTop / count;
    }

    public double sameTopError() {
        double p = sameTop();
        return count < 2 ? 0 : Math.sqrt(p * (1 - p) / (count - 1));
    }

    public double pplModel() {
        return Math.exp(nllModel / count);
    }

    public double pplBase() {
        return Math.exp(nllBase / count);
    }
}
