package dev.fabric.data;

import dev.fabric.recipe.Recipe;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a stage's data came to, as {@code fabric tune --dry-run} prints it: per file its container, format
 * (and whether detected) and rows; rows per format; the validation rows; what was dropped and why, what was
 * truncated, the malformed rows (file:line and reason); the token-length histogram; the share of tokens under
 * the loss; the packing; and two rendered examples with their trained tokens marked.
 */
public final class DataReport {
    private final String stage;
    private final List<DataFiles.Read> files;
    private final String validNote;
    private final int trainExamples, validExamples;
    private final long tokens, trained;
    private final Map<Recipe.Format, Integer> perFormat;
    private final Map<String, Integer> dropped;
    private final int truncated;
    private final List<Malformed> malformed;
    private final double malformedLimit;
    private final List<String[]> examples;
    private final int context;
    private final boolean pack;
    private final int sequences, batches, batch;
    private final long[] histogram;
    private final long paddedTokens;

    DataReport(String stage, List<DataFiles.Read> files, String validNote, List<Example> train, List<Example> valid,
            Map<Recipe.Format, Integer> perFormat, Map<String, Integer> dropped, int truncated, List<Malformed> malformed,
            double malformedLimit, List<String[]> examples, int context, boolean pack, int sequences, int batches,
            int batch) {
        this.stage = stage;
        this.files = List.copyOf(files);
        this.validNote = validNote;
        this.trainExamples = train.size();
        this.validExamples = valid.size();
        long tok = 0, tr = 0;
        this.histogram = new long[BUCKETS];
        for (Example e : train) {
            tok += e.size();
            tr += e.trainedCount();
            histogram[bucket(e.length())]++;
        }
        this.tokens = tok;
        this.trained = tr;
        this.perFormat = new LinkedHashMap<>(perFormat);
        this.dropped = new LinkedHashMap<>(dropped);
        this.truncated = truncated;
        this.malformed = List.copyOf(malformed);
        this.malformedLimit = malformedLimit;
        this.examples = List.copyOf(examples);
        this.context = context;
        this.pack = pack;
        this.sequences = sequences;
        this.batches = batches;
        this.batch = batch;
        this.paddedTokens = (long) batches * batch * context;
    }

    private static final int BUCKETS = 22;

    /** Length buckets by powers of two: 1-16, 17-32, ..., the last one open. */
    static int bucket(int length) {
        int b = 0;
        for (int hi = 16; length > hi && b < BUCKETS - 1; hi *= 2) b++;
        return b;
    }

    public int trainExamples() {
        return trainExamples;
    }

    public int validExamples() {
        return validExamples;
    }

    public long tokens() {
        return tokens;
    }

    /** Tokens whose prediction is under the loss. */
    public long trainedTokens() {
        return trained;
    }

    public Map<Recipe.Format, Integer> perFormat() {
        return perFormat;
    }

    public Map<String, Integer> dropped() {
        return dropped;
    }

    public int truncated() {
        return truncated;
    }

    public List<Malformed> malformed() {
        return malformed;
    }

    public long[] histogram() {
        return histogram.clone();
    }

    /** The report as text; {@code ansi} marks the trained tokens in green instead of between [[ ]]. */
    public String format(boolean ansi) {
        StringBuilder sb = new StringBuilder();
        sb.append("data, stage ").append(stage).append(":\n");
        int w = 8;
        for (DataFiles.Read f : files) w = Math.max(w, f.source().length());
        for (DataFiles.Read f : files) {
            sb.append(String.format("  %-" + w + "s  %-12s %-9s %-10s %7d rows%s%n", f.source(), f.container(),
                    f.format().label(), f.detected() ? "(detected)" : "(set)", f.total(),
                    f.malformed().isEmpty() ? "" : ", " + f.malformed().size() + " malformed"));
        }
        List<String> fmt = new ArrayList<>();
        perFormat.forEach((k, v) -> fmt.add(k.label() + " " + v));
        sb.append("  training examples: ").append(trainExamples).append(" (").append(String.join(", ", fmt)).append(")\n");
        sb.append("  validation: ").append(validNote).append("; ").append(validExamples).append(" examples\n");
        if (dropped.isEmpty()) {
            sb.append("  dropped: none\n");
        } else {
            int n = 0;
            for (int v : dropped.values()) n += v;
            sb.append("  dropped: ").append(n).append('\n');
            dropped.forEach((k, v) -> sb.append(String.format("    %6d  %s%n", v, k)));
        }
        sb.append("  truncated to the context: ").append(truncated).append('\n');
        if (malformed.isEmpty()) {
            sb.append("  malformed rows: none\n");
        } else {
            sb.append("  malformed rows skipped: ").append(malformed.size()).append(" (limit ")
                    .append((long) Math.floor(malformedLimit)).append(")\n");
            int shown = Math.min(malformed.size(), 20);
            for (int i = 0; i < shown; i++) sb.append("    ").append(malformed.get(i)).append('\n');
            if (shown < malformed.size()) sb.append("    ... and ").append(malformed.size() - shown).append(" more\n");
        }
        sb.append(String.format("  tokens: %d in %d examples, %d under the loss (%.1f%%)%n", tokens, trainExamples,
                trained, tokens == 0 ? 0.0 : 100.0 * trained / tokens));
        sb.append("  token lengths (before truncation; context ").append(context).append("):\n");
        long max = 1;
        int last = 0;
        for (int b = 0; b < BUCKETS; b++) {
            max = Math.max(max, histogram[b]);
            if (histogram[b] > 0) last = b;
        }
        for (int b = 0; b <= last; b++) {
            long lo = b == 0 ? 1 : (16L << (b - 1)) + 1, hi = 16L << b;
            String range = b == BUCKETS - 1 ? lo + "+" : lo + "-" + hi;
            int bar = (int) Math.round(40.0 * histogram[b] / max);
            sb.append(String.format("    %13s %7d %s%n", range, histogram[b], "#".repeat(bar)));
        }
        sb.append(String.format("  %s: %d examples in %d sequences of up to %d tokens; %d batches of %d per epoch;"
                        + " %.1f%% of batch tokens under the loss%n", pack ? "packing" : "no packing", trainExamples,
                sequences, context, batches, batch, paddedTokens == 0 ? 0.0 : 100.0 * trained / paddedTokens));
        for (int i = 0; i < examples.size(); i++) {
            String[] e = examples.get(i);
            sb.append("\nexample ").append(i + 1).append(" (").append(e[0]).append(", ").append(e[2]).append("), ")
                    .append(ansi ? "trained tokens in green" : "trained tokens between [[ ]]").append(":\n");
            sb.append(ansi ? e[3] : e[1]);
            if (!(ansi ? e[3] : e[1]).endsWith("\n")) sb.append('\n');
        }
        return sb.toString();
    }

    @Override
    public String toString() {
        return format(false);
    }
}
