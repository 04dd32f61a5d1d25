package dev.fabric.train;

import dev.fabric.FabricException;
import java.util.function.Consumer;

/**
 * The training loop: each optimizer step runs {@code accumulation} micro-batches through forward-backward (their
 * loss sums and gradients adding up), divides loss and gradients by the step's total target tokens (training.md:
 * a per-token mean over the whole step, not a mean of micro-batch means), measures the global gradient norm,
 * clips, and applies AdamW at the schedule's learning rate.
 *
 * <p>A step whose loss or gradient is not finite (or that has no target tokens) is skipped: gradients are zeroed
 * and the parameters, optimizer moments, update count and schedule position stay as they were; its micro-batches
 * are consumed. {@code maxConsecutiveSkips} skipped steps in a row stop the run with an error naming the steps.
 *
 * <p>Determinism: everything random comes from one {@link Rng} (a seed per micro-batch, handed to the model) whose
 * state, with the data position, the moments and the counters, is what a {@link Checkpoints checkpoint} saves; a
 * resumed run continues bit for bit.
 */
public final class Trainer<B> {
    /**
     * @param updates optimizer updates to apply (the run ends when this many have been applied)
     * @param accumulation micro-batches per optimizer step
     * @param maxGradNorm clipping threshold for the global gradient norm; 0 for none
     * @param maxConsecutiveSkips skipped steps in a row that stop the run
     */
    public record Config(long updates, int accumulation, LrSchedule schedule, double maxGradNorm, AdamW.Config adam,
            int maxConsecutiveSkips, long seed) {
        public Config {
            if (updates < 0) throw new IllegalArgumentException("negative update count");
            if (accumulation < 1) throw new IllegalArgumentException("accumulation must be at least 1");
            if (!(maxGradNorm >= 0)) throw new IllegalArgumentException("max grad norm must be >= 0");
            if (maxConsecutiveSkips < 1) throw new IllegalArgumentException("max consecutive skips must be >= 1");
        }
    }

    private final StepModel<B> model;
    private final BatchSource<B> data;
    private final Config config;
    private final AdamW adam;
    private final Rng rng;
    private Consumer<StepRecord> sink = r -> {};
    private long step;
    private long skipped;
    private int consecutiveSkips;

    public Trainer(StepModel<B> model, BatchSource<B> data, Config config) {
        this.model = model;
        this.data = data;
        this.config = config;
        this.adam = new AdamW(config.adam(), model.params());
        this.rng = new Rng(Rng.forName(config.seed(), "trainer").state());
    }

    /** Where each step's record goes (e.g. {@link MetricsLog#write}). */
    public Trainer<B> onStep(Consumer<StepRecord> sink) {
        this.sink = sink;
        return this;
    }

    /** Runs steps until {@code config.updates} updates have been applied; calls {@code after} after each step. */
    public void run(Consumer<StepRecord> after) {
        while (adam.steps() < config.updates) {
            StepRecord r = step();
            if (after != null) after.accept(r);
        }
    }

    /** One optimizer step (or a skipped one). */
    public StepRecord step() {
        long t0 = System.nanoTime();
        TrainableParams p = model.params();
        model.zeroGrad();
        LossSum total = new LossSum(0, 0);
        for (int k = 0; k < config.accumulation; k++) total = total.plus(model.forwardBackward(data.next(), rng.nextLong()));
        step++;
        double loss = total.sum() / total.tokens();
        double lr = config.schedule.lr(adam.steps());
        double norm = Double.NaN;
        boolean ok = total.tokens() > 0 && Double.isFinite(loss);
        if (ok) {
            GradNorm.scale(p, 1.0 / total.tokens());
            norm = GradNorm.of(p);
            ok = Double.isFinite(norm);
        }
        if (ok) {
            if (config.maxGradNorm > 0) {
                double f = GradNorm.clipFactor(norm, config.maxGradNorm);
                if (f < 1.0) GradNorm.scale(p, f);
            }
            adam.step(p, lr);
            consecutiveSkips = 0;
        } else {
            skipped++;
            consecutiveSkips++;
        }
        model.zeroGrad();
        double secs = (System.nanoTime() - t0) / 1e9;
        StepRecord r = new StepRecord(step, adam.steps(), loss, lr, norm, total.tokens(),
                secs > 0 ? total.tokens() / secs : 0, !ok, skipped);
        sink.accept(r);
        if (!ok && consecutiveSkips >= config.maxConsecutiveSkips)
            throw new FabricException("step " + step + ": " + (total.tokens() == 0 ? "no target tokens" : "the loss or "
                    + "gradient is not finite") + " in " + consecutiveSkips + " steps in a row (steps "
                    + (step - consecutiveSkips + 1) + " to " + step + "); stopping. A lower learning rate or "
                    + "gradient clipping may help, or the data may be at fault");
        return r;
    }

    public Config config() {
        return config;
    }

    public StepModel<B> model() {
        return model;
    }

    public BatchSource<B> data() {
        return data;
    }

    public AdamW optimizer() {
        return adam;
    }

    /** Steps attempted, skipped ones included. */
    public long steps() {
        return step;
    }

    /** Updates applied (= the schedule position). */
    public long updates() {
        return adam.steps();
    }

    public long skipped() {
        return skipped;
    }

    int consecutiveSkips() {
        return consecutiveSkips;
    }

    Rng rng() {
        return rng;
    }

    /** Restores the counters and generator (checkpoint resume); moments and values are written in place. */
    void restore(long steps, long updates, long skipped, int consecutiveSkips, long rngState) {
        this.step = steps;
        adam.restoreSteps(updates);
        this.skipped = skipped;
        this.consecutiveSkips = consecutiveSkips;
        rng.setState(rngState);
    }
}
