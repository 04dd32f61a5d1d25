package dev.fabric.imatrix;

import dev.fabric.FabricException;
import java.nio.file.Path;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * An importance matrix as llama-quantize uses it (spec section 5.4): per weight tensor name, one weight per input
 * column (per expert for MoE: {@code ne0 * n_expert} values), already divided by the token count; plus the
 * datasets it was computed on and its chunk count, which quantize records in the output's metadata.
 *
 * @param entries    weight name to per-column weights, sorted by name (unmodifiable)
 * @param chunkCount chunks the collector processed; 0 when the file does not say (old legacy files)
 */
public record Imatrix(Map<String, float[]> entries, List<String> datasets, int chunkCount, Path source,
                      Format format) {
    /** The two file formats llama-imatrix writes ({@code --output-format gguf|dat}). */
    public enum Format { GGUF, LEGACY_DAT }

    public Imatrix {
        entries = Collections.unmodifiableMap(new TreeMap<>(entries));
        datasets = List.copyOf(datasets);
        Objects.requireNonNull(format, "format");
    }

    /** The weights for {@code tensorName}, or null when the file has none. */
    public float[] get(String tensorName) {
        return entries.get(tensorName);
    }

    public int size() {
        return entries.size();
    }

    /**
     * {@code --include-weights} / {@code --exclude-weights} as llama-quantize applies them: exclude drops every
     * entry whose name contains one of the strings; include keeps only entries containing one of them. The two
     * are mutually exclusive.
     */
    public Imatrix filter(List<String> include, List<String> exclude) {
        if (!include.isEmpty() && !exclude.isEmpty())
            throw new FabricException("--include-weights and --exclude-weights cannot be used together",
                    FabricException.EXIT_USAGE, null);
        if (include.isEmpty() && exclude.isEmpty()) return this;
        TreeMap<String, float[]> kept = new TreeMap<>();
        for (var e : entries.entrySet()) {
            boolean hit = (include.isEmpty() ? exclude : include).stream().anyMatch(e.getKey()::contains);
            if (hit != include.isEmpty()) kept.put(e.getKey(), e.getValue());
        }
        return new Imatrix(kept, datasets, chunkCount, source, format);
    }

    /** quantize refuses an imatrix with a NaN or infinite weight anywhere; the message names the entry. */
    public void requireFinite() {
        for (var e : entries.entrySet()) {
            float[] v = e.getValue();
            for (int i = 0; i < v.length; i++) {
                if (!Float.isFinite(v[i]))
                    throw new FabricException("imatrix " + source + ": entry '" + e.getKey() + "' has a non-finite "
                            + "value " + v[i] + " at index " + i + "; the calibration run diverged, collect it again");
            }
        }
    }
}
