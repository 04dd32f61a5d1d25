package dev.fabric.data;

import dev.fabric.FabricException;
import dev.fabric.recipe.Recipe;
import dev.fabric.tokenizer.Tokenizer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One stage's data, ready for training: the rows of its files read ({@link DataFiles}), held out for
 * validation, rendered and tokenized with loss masks ({@link ExampleEncoder}), rows longer than the context
 * dropped or truncated, and a {@link DataReport} of all of it. {@link #epoch(int)} gives an epoch's batches:
 * the examples in that epoch's seeded order ({@link Shuffle}), packed or not ({@link Packing}).
 *
 * <p>Malformed rows are skipped and listed in the report; when they are more than {@code data.max_malformed}
 * of the rows read, loading stops with their list.
 */
public final class Dataset {
    private final List<Example> train;
    private final List<Example> valid;
    private final DataReport report;
    private final int context, rows, pad;
    private final boolean pack;
    private final long seed;

    private Dataset(List<Example> train, List<Example> valid, DataReport report, int context, int rows, int pad,
            boolean pack, long seed) {
        this.train = List.copyOf(train);
        this.valid = List.copyOf(valid);
        this.report = report;
        this.context = context;
        this.rows = rows;
        this.pad = pad;
        this.pack = pack;
        this.seed = seed;
    }

    public List<Example> train() {
        return train;
    }

    public List<Example> valid() {
        return valid;
    }

    public DataReport report() {
        return report;
    }

    /** Epoch {@code e}'s training sequences (packed when the recipe packs), in that epoch's order. */
    public List<Packing.Sequence> sequences(int e) {
        int[] order = Shuffle.order(train.size(), seed, e);
        List<Example> ordered = new ArrayList<>(order.length);
        for (int i : order) ordered.add(train.get(i));
        return Packing.sequences(ordered, context, pack);
    }

    /** Epoch {@code e}'s micro-batches of {@code train.batch} sequences (the last one padded with empty rows). */
    public List<Batch> epoch(int e) {
        return Packing.batches(sequences(e), rows, context, pad);
    }

    /** The validation batches, in file order (not shuffled). */
    public List<Batch> validBatches() {
        return Packing.batches(Packing.sequences(valid, context, pack), rows, context, pad);
    }

    /**
     * Loads a stage's data.
     *
     * @param recipe  the recipe (seed, train.context, train.batch, train.pack, data policy)
     * @param stage   the stage whose files to read
     * @param encoder the model's tokenizer and chat template
     * @param model   the model's file, for the error when it has no chat template
     */
    public static Dataset load(Recipe recipe, Recipe.Stage stage, Tokenizer tokenizer, ExampleEncoder encoder, Path model) {
        Recipe.Data d = stage.data();
        Path base = recipe.file() == null ? null : recipe.file().toAbsolutePath().getParent();
        List<DataFiles.Read> reads = new ArrayList<>();
        List<Row> rows = new ArrayList<>();
        for (Path p : d.train()) {
            DataFiles.Read r = DataFiles.read(p, display(base, p), d.format());
            reads.add(r);
            rows.addAll(r.rows());
        }
        List<Row> validRows = new ArrayList<>();
        DataFiles.Read validRead = null;
        String validNote;
        if (d.valid() != null) {
            validRead = DataFiles.read(d.valid(), display(base, d.valid()), d.format());
            validRows.addAll(validRead.rows());
            validNote = validRead.rows().size() + " rows from " + validRead.source();
        } else if (d.validFraction() > 0) {
            int k = (int) Math.round(d.validFraction() * rows.size());
            if (k == 0 && rows.size() >= 2) k = 1;
            if (k >= rows.size()) k = rows.size() - 1;
            int[] order = Shuffle.order(rows.size(), recipe.seed(), Shuffle.VALIDATION_STREAM);
            boolean[] held = new boolean[rows.size()];
            for (int i = 0; i < k; i++) held[order[i]] = true;
            List<Row> keep = new ArrayList<>();
            for (int i = 0; i < rows.size(); i++) (held[i] ? validRows : keep).add(rows.get(i));
            rows = keep;
            validNote = k + " rows held out (data.valid_fraction " + d.validFraction() + ", seed " + recipe.seed() + ")";
        } else {
            validNote = "none (set data.valid or data.valid_fraction)";
        }

        int context = recipe.train().context();
        ExampleEncoder enc = d.thinking() == null ? encoder : encoder.withVars(Map.of("enable_thinking", d.thinking()));
        Builder b = new Builder(context, d.overlong(), d.splitTurns(), enc, tokenizer, model);
        List<Malformed> malformed = new ArrayList<>();
        for (DataFiles.Read r : reads) malformed.addAll(r.malformed());
        if (validRead != null) malformed.addAll(validRead.malformed());
        List<Example> trainEx = b.encodeAll(rows, malformed, true);
        List<Example> validEx = b.encodeAll(validRows, malformed, false);

        int total = malformed.size();
        for (DataFiles.Read r : reads) total += r.rows().size();
        if (validRead != null) total += validRead.rows().size();
        double limit = d.maxMalformed() * total;
        if (malformed.size() > limit) {
            StringBuilder sb = new StringBuilder();
            sb.append(malformed.size()).append(" of ").append(total).append(" rows are malformed, more than")
                    .append(" data.max_malformed (").append(d.maxMalformed()).append(" = ")
                    .append((long) Math.floor(limit)).append(" rows):");
            int shown = Math.min(malformed.size(), 50);
            for (int i = 0; i < shown; i++) sb.append("\n  ").append(malformed.get(i));
            if (shown < malformed.size()) sb.append("\n  ... and ").append(malformed.size() - shown).append(" more");
            throw new DataException(sb.toString());
        }
        if (trainEx.isEmpty()) {
            throw new DataException("stage " + stage.name() + ": no usable training rows in "
                    + String.join(", ", reads.stream().map(DataFiles.Read::source).toList()) + " (" + b.dropSummary()
                    + (malformed.isEmpty() ? "" : "; malformed: " + malformed.size()) + ")");
        }
        int pad = tokenizer.padId() >= 0 ? tokenizer.padId() : Math.max(tokenizer.eosId(), 0);
        Dataset ds = new Dataset(trainEx, validEx, null, context, recipe.train().batch(), pad, recipe.train().pack(),
                recipe.seed());
        List<Packing.Sequence> seqs = ds.sequences(0);
        DataReport report = new DataReport(stage.name(), reads, validNote, trainEx, validEx, b.perFormat, b.dropped,
                b.truncated, malformed, limit, b.shown, context, recipe.train().pack(), seqs.size(),
                (seqs.size() + recipe.train().batch() - 1) / recipe.train().batch(), recipe.train().batch());
        return new Dataset(trainEx, validEx, report, context, recipe.train().batch(), pad, recipe.train().pack(),
                recipe.seed());
    }

    static String display(Path base, Path p) {
        if (base != null && p.toAbsolutePath().startsWith(base)) return base.relativize(p.toAbsolutePath()).toString();
        return p.toString();
    }

    /** Rows to examples, counting what it drops and why. */
    private static final class Builder {
        final int context;
        final Recipe.Overlong overlong;
        final boolean splitTurns;
        final ExampleEncoder encoder;
        final Tokenizer tokenizer;
        final Path model;
        final Map<Recipe.Format, Integer> perFormat = new LinkedHashMap<>();
        final Map<String, Integer> dropped = new LinkedHashMap<>();
        final List<String[]> shown = new ArrayList<>();
        String[] spare;
        int truncated;

        Builder(int context, Recipe.Overlong overlong, boolean splitTurns, ExampleEncoder encoder, Tokenizer tokenizer,
                Path model) {
            this.context = context;
            this.overlong = overlong;
            this.splitTurns = splitTurns;
            this.encoder = encoder;
            this.tokenizer = tokenizer;
            this.model = model;
        }

        List<Example> encodeAll(List<Row> rows, List<Malformed> malformed, boolean isTrain) {
            List<Example> out = new ArrayList<>();
            for (Row r : rows) {
                if (!r.isText()) {
                    if (encoder.template() == null) {
                        throw new DataException(model + ": the model has no chat template (tokenizer.chat_template) and"
                                + " the recipe sets none, so conversation rows cannot be rendered (first one at "
                                + r.where() + "); set template: to one of chatml, qwen3, llama3, gemma, or a .jinja file");
                    }
                    if (r.messages().stream().noneMatch(m -> "assistant".equals(m.role()))) {
                        drop("no assistant reply to train on");
                        continue;
                    }
                    if (r.messages().stream().anyMatch(m -> m.content() == null && m.toolCalls().isEmpty()
                            && "assistant".equals(m.role()))) {
                        malformed.add(new Malformed(r.where(), "an assistant message without content"));
                        continue;
                    }
                }
                List<ExampleEncoder.Encoded> encs;
                try {
                    encs = encoder.encode(r, splitTurns);
                } catch (FabricException e) {
                    malformed.add(new Malformed(r.where(), e.getMessage()));
                    continue;
                }
                for (ExampleEncoder.Encoded enc : encs) {
                    Example ex = example(r, enc, isTrain);
                    if (ex != null) out.add(ex);
                }
            }
            if (isTrain && shown.size() == 1 && spare != null) shown.add(spare);
            return out;
        }

        /** The example of one encoding, or null where it is dropped (counted). */
        private Example example(Row r, ExampleEncoder.Encoded enc, boolean isTrain) {
            int n = enc.ids().length;
            if (n > context && overlong == Recipe.Overlong.DROP) {
                drop("longer than the context (" + context + " tokens)");
                return null;
            }
            Example ex = Example.of(r.where(), r.source(), r.format(), enc.ids(), enc.mask(), context);
            if (ex.trainedCount() == 0) {
                drop(n > context ? "no trained tokens left after truncation" : "no trained tokens");
                return null;
            }
            if (ex.truncated()) truncated++;
            if (isTrain) {
                perFormat.merge(r.format(), 1, Integer::sum);
                // Two examples to show: the first, and the first of another format if there is one.
                boolean first = shown.isEmpty();
                boolean otherFormat = shown.size() == 1 && !shown.get(0)[2].equals(r.format().label());
                if (first || otherFormat) {
                    shown.add(show(r, enc));
                } else if (spare == null) {
                    spare = show(r, enc);
                }
            }
            return ex;
        }

        private String[] show(Row r, ExampleEncoder.Encoded enc) {
            return new String[] {r.where(), enc.display(tokenizer, false), r.format().label(), enc.display(tokenizer, true)};
        }

        void drop(String why) {
            dropped.merge(why, 1, Integer::sum);
        }

        String dropSummary() {
            if (dropped.isEmpty()) return "no rows dropped";
            List<String> parts = new ArrayList<>();
            dropped.forEach((k, v) -> parts.add(k + ": " + v));
            return "dropped: " + String.join(", ", parts);
        }
    }

    @Override
    public String toString() {
        return "Dataset[" + train.size() + " train, " + valid.size() + " valid, context " + context + ", batch " + rows
                + (pack ? ", packed" : "") + "]";
    }
}
