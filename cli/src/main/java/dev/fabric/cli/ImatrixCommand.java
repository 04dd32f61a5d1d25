package dev.fabric.cli;

import dev.fabric.FabricException;
import dev.fabric.gguf.GgufFile;
import dev.fabric.imatrix.ImatrixCollector;
import dev.fabric.imatrix.ImatrixReader;
import dev.fabric.imatrix.ImatrixStats;
import dev.fabric.imatrix.ImatrixWriter;
import dev.fabric.io.SafeOutput;
import dev.fabric.model.Transformer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code fabric imatrix}: llama-imatrix's importance matrix from a calibration text. */
@Command(name = "imatrix", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Collects an importance matrix as llama-imatrix does: per matmul weight of the blocks, the "
                + "sum of squared input activations per column and the token count, over chunks of CTX tokens.",
            "The result is read by 'fabric quantize --imatrix' and by llama-quantize."},
        footer = {"", "Examples:", "  fabric imatrix -m model-f16.gguf -f calib.txt -o model.imatrix.gguf -c 512 --chunks 100",
            "  fabric imatrix -m model-f16.gguf --in-file part1.gguf --in-file part2.gguf -o combined.imatrix.gguf"})
final class ImatrixCommand implements Callable<Integer> {
    @Mixin
    ModelOptions modelOptions;

    @Option(names = {"-f", "--file"}, paramLabel = "CALIB.txt",
            description = "Calibration text (UTF-8). Optional with --in-file: then the files are only combined.")
    String calib;

    @Option(names = "--in-file", paramLabel = "IMATRIX", description = "An earlier imatrix (GGUF or .dat) to add to, "
            + "as llama-imatrix --in-file; repeat to combine several.")
    List<Path> inFiles = new ArrayList<>();

    @Option(names = {"-o", "--output"}, paramLabel = "FILE", defaultValue = "imatrix.gguf",
            description = "Output file (default: ${DEFAULT-VALUE}).")
    Path output;

    @Option(names = {"-c", "--ctx"}, paramLabel = "N", defaultValue = "512", description = "Tokens per chunk (default: ${DEFAULT-VALUE}).")
    int ctx;

    @Option(names = "--chunks", paramLabel = "N", defaultValue = "-1", description = "At most N chunks (default: all).")
    int chunks;

    @Option(names = {"-b", "--batch"}, paramLabel = "N", defaultValue = "2048",
            description = "Tokens per batch, as llama-imatrix's -b: max(1, N / CTX) chunks are evaluated together "
                    + "(default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = {"-ub", "--ubatch"}, paramLabel = "N", defaultValue = "512",
            description = "Tokens per ubatch, as llama-imatrix's -ub (default: ${DEFAULT-VALUE}).")
    int ubatch;

    @Option(names = "--format", paramLabel = "gguf|dat",
            description = "Output format: gguf (default) or llama.cpp's legacy dat (default dat for a .dat output).")
    String format;

    @Mixin
    InputLimit limit;

    @Option(names = "--process-output", description = "Also collect output.weight's inputs.")
    boolean processOutput;

    @Option(names = "--no-ppl", description = "Do not compute the perplexity of each chunk (faster).")
    boolean noPpl;

    @Override
    public Integer call() throws IOException {
        String fmt = format != null ? format.toLowerCase(Locale.ROOT)
                : output.toString().endsWith(".dat") ? "dat" : "gguf";
        if (!fmt.equals("gguf") && !fmt.equals("dat"))
            throw new FabricException("--format must be gguf or dat, got '" + format + "'", FabricException.EXIT_USAGE, null);
        if (calib == null && inFiles.isEmpty())
            throw new FabricException("give the calibration text with -f FILE (or imatrix files to combine with --in-file)",
                    FabricException.EXIT_USAGE, null);
        Limits.atLeast(ctx, 4, "--ctx");
        Limits.atLeast(batch, 1, "--batch");
        Limits.atLeast(ubatch, 1, "--ubatch");
        Limits.chunks(chunks);
        SafeOutput.check(output, inputs()); // before the work, not after it
        ImatrixStats start = null;
        if (!inFiles.isEmpty()) {
            List<ImatrixStats> parts = new ArrayList<>();
            List<String> names = new ArrayList<>();
            java.util.Map<String, Long> tensors = new java.util.HashMap<>(); // name -> columns (ne0 * experts)
            try (GgufFile m = GgufFile.open(modelOptions.model)) {
                for (var t : m.tensors()) tensors.put(t.name(), t.ne(0) * t.ne(2));
            }
            for (Path p : inFiles) {
                System.err.println("loading imatrix from " + p);
                ImatrixStats st = ImatrixReader.readStats(p);
                checkAgainstModel(p, st, tensors);
                parts.add(st);
                names.add(p.toString());
            }
            start = ImatrixStats.combine(parts, names, ctx);
        }
        if (calib == null) {
            write(start, fmt);
            System.err.printf(Locale.ROOT, "wrote %s (%s): %d files combined, %d entries, %d chunks of %d tokens%n",
                    output, fmt, inFiles.size(), start.sums().size(), start.chunkCount(), start.chunkSize());
            return 0;
        }
        long maxBytes = limit.bytes();
        try (Engine e = new Engine(modelOptions, ctx, ctx, !noPpl, System.err)) {
            String text = e.readText(Path.of(calib), chunks > 0 ? (long) chunks * ctx : -1, maxBytes, System.err);
            int[] tokens = e.tokenizeDocument(text);
            System.err.printf("%s: %d tokens; %d chunks of %d%n", calib, tokens.length,
                    chunks > 0 ? Math.min(chunks, tokens.length / ctx) : tokens.length / ctx, ctx);
            // the sums add rows in llama-imatrix's order: one session per sequence of its batches
            List<Transformer> sessions = new ArrayList<>(List.of(e.session));
            int nSeq = Math.min(ImatrixCollector.seqsPerBatch(ctx, batch), Math.max(1, tokens.length / ctx));
            if (chunks > 0) nSeq = Math.min(nSeq, chunks);
            while (sessions.size() < nSeq) sessions.add(e.newSession());
            long t0 = System.nanoTime();
            ImatrixStats s = ImatrixCollector.collect(sessions, tokens, ctx, chunks, e.chunkBos(), batch, ubatch,
                    processOutput, !noPpl, List.of(calib), (i, n, ppl) -> {
                        if (!noPpl) System.out.printf(Locale.ROOT, "[%d]%.4f,", i + 1, ppl);
                        System.out.flush();
                    }, start);
            System.out.println();
            write(s, fmt);
            System.err.printf(Locale.ROOT, "wrote %s (%s): %d entries, %d chunks of %d tokens, %.1f s%n", output, fmt,
                    s.sums().size(), s.chunkCount(), s.chunkSize(), (System.nanoTime() - t0) / 1e9);
        }
        return 0;
    }

    /**
     * An --in-file for another model (none of its entries names a tensor of -m) or with non-finite sums would spoil the
     * result: refused, naming the file and the entry; entries the model lacks are counted in a warning.
     */
    private void checkAgainstModel(Path p, ImatrixStats st, java.util.Map<String, Long> tensors) {
        List<String> unknown = new ArrayList<>();
        for (var e : new java.util.TreeMap<>(st.sums()).entrySet()) {
            Long cols = tensors.get(e.getKey());
            float[] v = e.getValue();
            if (cols == null) unknown.add(e.getKey());
            else if (v.length != cols)
                throw new FabricException("imatrix " + p + ": entry '" + e.getKey() + "' has " + v.length + " values but "
                        + modelOptions.model + " gives that tensor " + cols + " columns: it was computed for another model");
            for (int i = 0; i < v.length; i++)
                if (!Float.isFinite(v[i]))
                    throw new FabricException("imatrix " + p + ": entry '" + e.getKey() + "' has a non-finite value " + v[i]
                            + " at index " + i);
        }
        if (!unknown.isEmpty() && unknown.size() == st.sums().size())
            throw new FabricException("imatrix " + p + ": none of its " + unknown.size() + " entries (e.g. '" + unknown.get(0)
                    + "') names a tensor of " + modelOptions.model + ": it was computed for another model");
        if (!unknown.isEmpty())
            System.err.println("warning: imatrix " + p + ": " + unknown.size() + " of its " + st.sums().size()
                    + " entries name no tensor of " + modelOptions.model + " (e.g. '" + unknown.get(0) + "')");
    }

    private void write(ImatrixStats s, String fmt) throws IOException {
        if (fmt.equals("dat")) ImatrixWriter.writeDat(s, output, inputs());
        else ImatrixWriter.writeGguf(s, output, inputs());
    }

    /** Every file this run reads: the output may be none of them. */
    private List<Path> inputs() {
        List<Path> in = new ArrayList<>(inFiles);
        if (calib != null) in.add(Path.of(calib));
        if (modelOptions.model != null) in.add(modelOptions.model);
        in.addAll(modelOptions.loras);
        return in;
    }
}
