package dev.fabric.imatrix;

import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The raw statistics llama-imatrix collects (spec section 5.1), before quantize turns them into weights: per
 * dense weight tensor, the sum over every input row x of x_j^2 per input column j, and how many rows (tokens)
 * were summed. This is what the GGUF imatrix format stores (section 5.2).
 *
 * @param sums       weight name to per-column sums of squares, sorted by name as llama-imatrix writes them
 * @param counts     weight name to tokens seen
 * @param datasets   calibration files the statistics came from
 * @param chunkCount chunks processed
 * @param chunkSize  tokens per chunk (the context)
 */
public record ImatrixStats(Map<String, float[]> sums, Map<String, Long> counts, List<String> datasets,
        int chunkCount, int chunkSize) {
    public ImatrixStats {
        if (!sums.keySet().equals(counts.keySet()))
            throw new IllegalArgumentException("sums and counts name different tensors");
        sums = Collections.unmodifiableMap(new TreeMap<>(sums));
        counts = Collections.unmodifiableMap(new TreeMap<>(counts));
        datasets = List.copyOf(datasets);
    }

    /**
     * The sum of several files' statistics, as llama-imatrix --in-file adds them: per entry the sums (in float,
     * in the given order) and the counts; the datasets listed in order; the chunk count recomputed as the largest
     * count over {@code chunkSize} (llama-imatrix's -c). Entries present in only some files keep what those have.
     * A legacy file's part (chunk size 0: means times ncall, see LegacyImatrixReader#readStats) counts as ncall
     * chunks of {@code chunkSize} tokens: its values and counts are multiplied by chunkSize, as llama-imatrix
     * guesses the chunk size it was made with.
     *
     * @param sources the files' names, for errors
     */
    public static ImatrixStats combine(List<ImatrixStats> parts, List<String> sources, int chunkSize) {
        Map<String, float[]> sums = new TreeMap<>();
        Map<String, Long> counts = new TreeMap<>();
        List<String> datasets = new java.util.ArrayList<>();
        for (int p = 0; p < parts.size(); p++) {
            ImatrixStats s = parts.get(p);
            for (var e : s.sums().entrySet()) {
                float[] acc = sums.computeIfAbsent(e.getKey(), k -> new float[e.getValue().length]);
                if (acc.length != e.getValue().length)
                    throw new dev.fabric.FabricException(sources.get(p) + ": entry '" + e.getKey() + "' has "
                            + e.getValue().length + " values where the files before it have " + acc.length
                            + " (an imatrix of another model?)");
                boolean legacy = s.chunkSize() == 0;
                for (int j = 0; j < acc.length; j++) acc[j] += legacy ? e.getValue()[j] * chunkSize : e.getValue()[j];
                counts.merge(e.getKey(), s.counts().get(e.getKey()) * (legacy ? chunkSize : 1), Long::sum);
            }
            datasets.addAll(s.datasets());
        }
        return new ImatrixStats(sums, counts, datasets, chunksOf(counts, chunkSize), chunkSize);
    }

    /** The chunk count llama-imatrix records for added-up statistics: the largest token count over chunkSize. */
    static int chunksOf(Map<String, Long> counts, int chunkSize) {
        long max = 0;
        for (long c : counts.values()) max = Math.max(max, c);
        return (int) (max / chunkSize);
    }
}
