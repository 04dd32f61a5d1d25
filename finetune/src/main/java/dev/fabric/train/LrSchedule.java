package dev.fabric.train;

/**
 * Learning-rate schedules with linear warmup, the formulas of Hugging Face transformers'
 * {@code get_constant_schedule_with_warmup}, {@code get_linear_schedule_with_warmup} and
 * {@code get_cosine_schedule_with_warmup} (one half-cycle). The multiplier for schedule position s (the number of
 * updates already done, so the first update uses s = 0, as a LambdaLR stepped after each optimizer step does):
 * <pre>
 *   s &lt; warmup: s / max(1, warmup)
 *   constant:   1
 *   linear:     max(0, (total − s) / max(1, total − warmup))
 *   cosine:     max(0, ½·(1 + cos(π · p))), p = (s − warmup) / max(1, total − warmup)
 * </pre>
 */
public record LrSchedule(Kind kind, double peak, int warmup, int total) {
    public enum Kind { CONSTANT, LINEAR, COSINE }

    public LrSchedule {
        if (!(peak >= 0) || !Double.isFinite(peak)) throw new IllegalArgumentException("bad learning rate " + peak);
        if (warmup < 0 || total < 1) throw new IllegalArgumentException("bad warmup " + warmup + " / total " + total);
    }

    /** The multiplier of the peak rate at position {@code s}. */
    public double factor(long s) {
        if (s < warmup) return (double) s / Math.max(1, warmup);
        return switch (kind) {
            case CONSTANT -> 1.0;
            case LINEAR -> Math.max(0.0, (double) (total - s) / Math.max(1, total - warmup));
            case COSINE -> {
                double p = (double) (s - warmup) / Math.max(1, total - warmup);
                yield Math.max(0.0, 0.5 * (1.0 + Math.cos(Math.PI * 0.5 * 2.0 * p)));
            }
        };
    }

    public double lr(long s) {
        return peak * factor(s);
    }
}
