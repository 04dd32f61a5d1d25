package dev.fabric.cli;

import dev.fabric.FabricException;
import dev.fabric.model.ModelConfig;
import java.lang.management.ManagementFactory;
import java.util.Locale;

/**
 * The numeric options' limits, checked at the CLI edge so that a bad number is a usage error (exit code 2) whose
 * message states the allowed range, never an abort, a hang or an out-of-memory deep inside. Every command checks its
 * numbers here.
 */
final class Limits {
    private Limits() {}

    /** The most threads a command accepts: four per core (oversubscription past that only slows), at most 1024. */
    static int maxThreads() {
        return Math.min(1024, Math.max(8, 4 * Runtime.getRuntime().availableProcessors()));
    }

    /** A thread count where 0 means "all cores". */
    static void threads(int n, String flag) {
        if (n < 0 || n > maxThreads())
            throw usage(flag + " must be between 1 and " + maxThreads() + " (4 per core on this machine, "
                    + Runtime.getRuntime().availableProcessors() + " cores; 0 = all cores), got " + n);
    }

    static void atLeast(long v, long min, String flag) {
        if (v < min) throw usage(flag + " must be at least " + min + ", got " + v);
    }

    static void between(long v, long min, long max, String flag) {
        if (v < min || v > max) throw usage(flag + " must be between " + min + " and " + max + ", got " + v);
    }

    /** A real number in [min, max] (NaN and infinities refused). */
    static void between(double v, double min, double max, String flag) {
        if (!Double.isFinite(v) || v < min || v > max)
            throw usage(flag + " must be a number between " + num(min) + " and " + num(max) + ", got " + num(v));
    }

    /** A real number above {@code min} (exclusive) and at most {@code max} (NaN and infinities refused). */
    static void above(double v, double min, double max, String flag) {
        if (!Double.isFinite(v) || v <= min || v > max)
            throw usage(flag + " must be a number above " + num(min) + " and at most " + num(max) + ", got " + num(v));
    }

    /** A real number of at least {@code min} (NaN and infinities refused). */
    static void atLeast(double v, double min, String flag) {
        if (!Double.isFinite(v) || v < min) throw usage(flag + " must be a finite number of at least " + num(min)
                + ", got " + num(v));
    }

    static void finite(double v, String flag) {
        if (!Double.isFinite(v)) throw usage(flag + " must be a finite number, got " + num(v));
    }

    /** {@code --chunks}: -1 (all, the default) or a positive count. */
    static void chunks(int n) {
        if (n != -1 && n < 1) throw usage("--chunks must be -1 (all) or at least 1, got " + n);
    }

    /**
     * A context of {@code nCtx} tokens for a model: at most the context it was trained on ({@code n_ctx_train},
     * beyond which its output degrades) unless {@code beyondTraining}, and no more memory than this machine has.
     * {@code kvBytes} and {@code scratchBytes} are {@link Engine#describe}'s estimate; {@code heapBytes} what the run
     * allocates on the Java heap (logits rows).
     */
    static void context(int nCtx, ModelConfig c, boolean beyondTraining, long kvBytes, long scratchBytes,
            long heapBytes, long logitsFloats) {
        if (nCtx > c.contextLength() && !beyondTraining)
            throw usage("--ctx " + nCtx + " is more than the " + c.contextLength() + " tokens this model was trained on "
                    + "(n_ctx_train); its output degrades past that. Use --ctx " + c.contextLength() + " or less, or "
                    + "--ctx-beyond-training to go on anyway");
        long physical = physicalMemory();
        if (physical > 0 && kvBytes + scratchBytes > physical)
            throw usage(String.format(Locale.ROOT, "--ctx %d needs about %s (KV cache %s + scratch %s) but this "
                    + "machine has %s of memory; use a smaller --ctx (or --batch)", nCtx, gib(kvBytes + scratchBytes),
                    gib(kvBytes), gib(scratchBytes), gib(physical)));
        if (logitsFloats > Integer.MAX_VALUE - 8)
            throw usage("a batch of that many tokens needs " + logitsFloats + " logits in one array, more than Java "
                    + "allows (2^31); use a smaller --batch or --ctx");
        long heap = Runtime.getRuntime().maxMemory();
        if (heapBytes > heap)
            throw usage(String.format(Locale.ROOT, "the logits of one batch need %s but Java may use %s; use a "
                    + "smaller --batch or --ctx, or give Java more memory (FABRIC_JAVA_OPTS=-Xmx...)", gib(heapBytes),
                    gib(heap)));
    }

    /** Total physical memory in bytes, or 0 when the JVM cannot tell. */
    static long physicalMemory() {
        try {
            if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os)
                return os.getTotalMemorySize();
        } catch (RuntimeException | LinkageError ignored) {
            // not a HotSpot-like JVM: skip the check
        }
        return 0;
    }

    /** A byte count in GiB, or MiB below one GiB. */
    static String gib(long bytes) {
        if (bytes < 1L << 30) return String.format(Locale.ROOT, "%.0f MiB", bytes / 1048576.0);
        return String.format(Locale.ROOT, "%.2f GiB", bytes / 1073741824.0);
    }

    private static String num(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e15 ? String.valueOf((long) v) : String.valueOf(v);
    }

    static FabricException usage(String msg) {
        return new FabricException(msg, FabricException.EXIT_USAGE, null);
    }
}
