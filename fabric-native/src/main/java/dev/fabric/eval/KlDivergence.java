package dev.fabric.eval;

import java.io.PrintStream;
import java.util.Arrays;
import java.util.Locale;

/**
 * llama-perplexity's {@code --kl-divergence} statistics, accumulated row by row with its arithmetic, so that the
 * same logits against the same base file print the same numbers:
 * <ul>
 *   <li>the model's row: max logit (first on ties), {@code lse = (float) log(sum of expf(l - max))} in double,
 *       nll = max + lse - l[next] in float;</li>
 *   <li>the base row as stored by {@link LogitsFile}: log p_base(j) = scale * q_j + minLogProb (a product and
 *       a sum, each rounded: llama-perplexity is built without FMA);</li>
 *   <li>KL(base || model) = sum over tokens with log p_base > -16 of p_base * (log p_base - log p_model), the
 *       tail below e^-16 ignored as the 16-bit base file cannot resolve it;</li>
 *   <li>Δp = p_model(next) - p_base(next); "same top" when both put the same token first.</li>
 * </ul>
 * {@link #report} prints llama-perplexity's three closing sections (means with standard errors, percentiles by
 * linear interpolation, medians of the middle pair).
 */
public final class KlDivergence {
    private double sumNll, sumNll2, sumNllBase, sumNllBase2, sumNllNllBase, sumKld, sumKld2, sumDp, sumDp2, sumDp4;
    private long count, sameTop;
    private float[] klds = new float[1024], dps = new float[1024];

    /** One scored row: base log-probs (from the file) and the model's logits, with the true next token. */
    public void add(LogitsFile.Row base, float[] logits, int offset, int vocab, int next) {
        float max = logits[offset];
        int top = 0;
        for (int j = 1; j < vocab; j++)
            if (logits[offset + j] > max) {
                max = logits[offset + j];
                top = j;
            }
        double sumExp = 0;
        for (int j = 0; j < vocab; j++) sumExp += LogitsFile.expf(logits[offset + j] - max);
        float lse = (float) Math.log(sumExp);
        float nll = max + lse - logits[offset + next];
        float nllBase = -base.logProb(next);
        sumNll += nll;
        sumNll2 += nll * nll; // products in float, sums in double, as llama-perplexity
        sumNllBase += nllBase;
        sumNllBase2 += nllBase * nllBase;
        sumNllNllBase += nll * nllBase;

        float logZ = max + lse;
        double kld = 0;
        int baseTop = -1;
        float baseTopLog = 0;
        for (int j = 0; j < vocab; j++) {
            float lb = base.logProb(j);
            if (j == 0 || lb > baseTopLog) {
                baseTopLog = lb;
                baseTop = j;
            }
            if (lb > -16f) kld += LogitsFile.expf(lb) * (lb - logits[offset + j] + logZ);
        }
        float dp = LogitsFile.expf(-nll) - LogitsFile.expf(-nllBase);
        if (count == klds.length) {
            klds = Arrays.copyOf(klds, klds.length * 2);
            dps = Arrays.copyOf(dps, dps.length * 2);
        }
        klds[(int) count] = (float) kld;
        dps[(int) count] = dp;
        count++;
        sumKld += kld;
        sumKld2 += kld * kld;
        sumDp += dp;
        double dp2 = dp * dp;
        sumDp2 += dp2;
        sumDp4 += dp2 * dp2;
        if (top == baseTop) sameTop++;
    }

    /** Mean and standard error of the mean (0 for 10 rows or fewer), as llama-perplexity computes them. */
    private double[] meanAndError(double sum, double sum2) {
        if (count < 1) return new double[] {0, 0};
        double f = sum / count, var = sum2 / count - f * f;
        return new double[] {f, var > 0 && count > 10 ? Math.sqrt(var / (count - 1)) : 0};
    }

    private double covariance(double a, double b, double ab) {
        return count < 10 ? 0 : (ab / count - (a / count) * (b / count)) / (count - 1);
    }

    /** Fraction of rows where the model's most likely token is the base model's. */
    private double sameTop() {
        return (double) sameTop / count;
    }

    /** Interpolated percentile of sorted values, in float as llama-perplexity computes it. */
    private static float percentile(float[] sorted, float fraction) {
        if (fraction <= 0) return sorted[0];
        if (fraction >= 1) return sorted[sorted.length - 1];
        float p = fraction * (sorted.length - 1);
        int ip = (int) p;
        p -= ip;
        return (1 - p) * sorted[ip] + p * sorted[Math.min(ip + 1, sorted.length - 1)];
    }

    private static float median(float[] sorted) {
        int n = sorted.length;
        return n % 2 == 0 ? 0.5f * (sorted[n / 2] + sorted[n / 2 - 1]) : sorted[n / 2];
    }

    /** llama-perplexity's closing statistics (it prints them only from 100 rows on; so do we). */
    public void report(PrintStream o) {
        if (count < 100) {
            o.printf(Locale.ROOT, "(%d scored tokens: too few for the statistics, which need 100)%n", count);
            return;
        }
        float[] k = Arrays.copyOf(klds, (int) count), d = Arrays.copyOf(dps, (int) count);
        Arrays.sort(k);
        Arrays.sort(d);
        double[] lp = meanAndError(sumNll, sumNll2), lb = meanAndError(sumNllBase, sumNllBase2);
        double ppl = Math.exp(lp[0]), pplErr = ppl * lp[1], base = Math.exp(lb[0]), baseErr = base * lb[1];
        double cov = covariance(sumNll, sumNllBase, sumNllNllBase);
        double ratio = lp[0] - lb[0], ratioErr = Math.sqrt(lp[1] * lp[1] + lb[1] * lb[1] - 2 * cov);
        o.println("====== Perplexity statistics ======");
        o.printf(Locale.ROOT, "Mean PPL(Q)                   : %10.6f ± %10.6f%n", ppl, pplErr);
        o.printf(Locale.ROOT, "Mean PPL(base)                : %10.6f ± %10.6f%n", base, baseErr);
        o.printf(Locale.ROOT, "Cor(ln(PPL(Q)), ln(PPL(base))): %6.2f%%%n", 100 * cov / (lp[1] * lb[1]));
        o.printf(Locale.ROOT, "Mean ln(PPL(Q)/PPL(base))     : %10.6f ± %10.6f%n", ratio, ratioErr);
        o.printf(Locale.ROOT, "Mean PPL(Q)/PPL(base)         : %10.6f ± %10.6f%n", Math.exp(ratio), Math.exp(ratio) * ratioErr);
        o.printf(Locale.ROOT, "Mean PPL(Q)-PPL(base)         : %10.6f ± %10.6f%n", ppl - base,
                Math.sqrt(pplErr * pplErr + baseErr * baseErr - 2 * ppl * base * cov));
        o.println();
        o.println("====== KL divergence statistics ======");
        double[] kl = meanAndError(sumKld, sumKld2);
        o.printf(Locale.ROOT, "Mean    KLD: %10.6f ± %10.6f%n", kl[0], kl[1]);
        o.printf(Locale.ROOT, "Maximum KLD: %10.6f%n", k[k.length - 1]);
        for (float f : new float[] {0.999f, 0.990f, 0.950f, 0.900f})
            o.printf(Locale.ROOT, "%4.1f%%   KLD: %10.6f%n", 100 * f, percentile(k, f));
        o.printf(Locale.ROOT, "Median  KLD: %10.6f%n", median(k));
        for (float f : new float[] {0.100f, 0.050f, 0.010f, 0.001f})
            o.printf(Locale.ROOT, "%4.1f%%   KLD: %10.6f%n", 100 * f, percentile(k, f));
        o.printf(Locale.ROOT, "Minimum KLD: %10.6f%n", k[0]);
        o.println();
        o.println("====== Token probability statistics ======");
        double[] dp = meanAndError(sumDp, sumDp2);
        o.printf(Locale.ROOT, "Mean    Δp: %6.3f ± %5.3f %%%n", 100 * dp[0], 100 * dp[1]);
        o.printf(Locale.ROOT, "Maximum Δp: %6.3f%%%n", 100 * d[d.length - 1]);
        for (float f : new float[] {0.999f, 0.990f, 0.950f, 0.900f, 0.750f})
            o.printf(Locale.ROOT, "%4.1f%%   Δp: %6.3f%%%n", 100 * f, 100 * percentile(d, f));
        o.printf(Locale.ROOT, "Median  Δp: %6.3f%%%n", 100 * median(d));
        for (float f : new float[] {0.250f, 0.100f, 0.050f, 0.010f, 0.001f})
            o.printf(Locale.ROOT, "%4.1f%%   Δp: %6.3f%%%n", 100 * f, 100 * percentile(d, f));
        o.printf(Locale.ROOT, "Minimum Δp: %6.3f%%%n", 100 * d[0]);
        double[] ms = meanAndError(sumDp2, sumDp4);
        double rms = Math.sqrt(ms[0]);
        o.printf(Locale.ROOT, "RMS Δp    : %6.3f ± %5.3f %%%n", 100 * rms, 100 * 0.5 / rms * ms[1]);
        double top = sameTop();
        o.printf(Locale.ROOT, "Same top p: %6.3f ± %5.3f %%%n", 100 * top, 100 * Math.sqrt(top * (1 - top) / (count - 1)));
    }
}
