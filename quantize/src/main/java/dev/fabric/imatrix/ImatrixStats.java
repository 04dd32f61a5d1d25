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
}
