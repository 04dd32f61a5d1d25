package dev.fabric.quant.pipeline;

import dev.fabric.quant.preset.TypeChoice;
import java.io.PrintStream;
import dev.fabric.io.Terminal;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * The console face of a quantize run: the plan's warnings, a progress bar over the input bytes (with the current
 * tensor and an ETA) on stderr, and the summary table at the end. The bar is drawn only when stderr is a terminal
 * ({@link Terminal}); otherwise (a log file, a pipe) a plain line marks every tenth of the input.
 */
public final class ConsoleProgress implements QuantizeListener {
    private final PrintStream err;
    private final boolean verbose;
    private final boolean terminal;
    private ProgressBar bar;
    private int tensors;
    private long total, done;
    private int tenthsShown;
    private String task;

    /** {@code verbose}: also print each missing-imatrix-entry warning (otherwise they are counted). */
    public ConsoleProgress(PrintStream err, boolean verbose) {
        this(err, verbose, Terminal.stderrIsTerminal());
    }

    /** {@code terminal}: draw a bar (else plain lines). */
    public ConsoleProgress(PrintStream err, boolean verbose, boolean terminal) {
        this.err = err;
        this.verbose = verbose;
        this.terminal = terminal;
    }

    @Override
    public void planned(QuantizePlan plan) {
        int missing = 0;
        for (String w : plan.warnings()) {
            if (!verbose && w.startsWith("did not find imatrix weights")) {
                missing++;
                continue;
            }
            err.println("warning: " + w);
        }
        if (missing > 0)
            err.println("note: " + missing + (missing == 1 ? " tensor has" : " tensors have") + " no imatrix entry"
                    + " and is quantized without one (normal for token_embd and output; -v lists them)");
        if (plan.imatrix() != null)
            err.println("imatrix: " + plan.imatrix().size() + " entries from " + plan.imatrix().source() + ", "
                    + plan.imatrix().chunkCount() + " chunks");
        tensors = plan.choices().size();
        total = Math.max(1, plan.inputBytes());
        task = "quantize " + plan.request().preset();
        if (!terminal) {
            err.printf("%s: %d tensors, %.1f MiB%n", task, tensors, total / 1048576.0);
            return;
        }
        bar = new ProgressBarBuilder()
                .setTaskName("quantize " + plan.request().preset())
                .setInitialMax(Math.max(1, plan.inputBytes()))
                .setUnit("MiB", 1 << 20)
                .setStyle(ProgressBarStyle.ASCII)
                .setConsumer(new ConsoleProgressBarConsumer(err))
                .setUpdateIntervalMillis(250)
                .showSpeed()
                .build();
    }

    @Override
    public void tensorDone(int index, TypeChoice choice, long inputBytes, long outputBytes) {
        done += inputBytes;
        if (bar != null) {
            bar.stepBy(inputBytes);
            bar.setExtraMessage((index + 1) + "/" + tensors + " " + choice.name());
            return;
        }
        int tenths = (int) Math.min(10, 10 * done / total);
        if (!terminal && tenths > tenthsShown && tenths < 10) {
            tenthsShown = tenths;
            err.printf("%s: %d%% (%d/%d tensors)%n", task, tenths * 10, index + 1, tensors);
        }
    }

    @Override
    public void finished(QuantizeResult result) {
        if (bar != null) bar.setExtraMessage(tensors + "/" + tensors);
        abort();
        err.print(result.table());
    }

    /** Stops the bar after a failure so the error message starts on a clean line. */
    public void abort() {
        if (bar != null) bar.close();
        bar = null;
    }
}
