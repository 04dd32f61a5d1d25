package dev.fabric.quant.pipeline;

import dev.fabric.gguf.GgmlType;
import dev.fabric.quant.preset.TypeChoice;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * What a quantize run produced: per output type, how many tensors, their weights, and their size before and
 * after; plus the file size and the time taken (for {@code fabric bench quantize}).
 *
 * @param byType   one row per output type, in ggml type-id order
 * @param seconds  wall time from opening the input to the rename of the output
 */
public record QuantizeResult(Path output, int fileType, List<TypeStat> byType, long fileSize, double seconds,
                             int threads) {

    /** Tensors written in {@code type}: their count, elements, and bytes in the input and in the output. */
    public record TypeStat(GgmlType type, int tensors, long elements, long inputBytes, long outputBytes) {
        public double bitsPerWeightBefore() {
            return elements == 0 ? 0 : 8.0 * inputBytes / elements;
        }

        public double bitsPerWeightAfter() {
            return elements == 0 ? 0 : 8.0 * outputBytes / elements;
        }
    }

    static QuantizeResult of(Path output, int fileType, List<TypeChoice> choices, long fileSize, double seconds,
                             int threads) {
        Map<Integer, TypeStat> m = new TreeMap<>();
        for (TypeChoice c : choices) {
            long n = 1;
            for (long d : c.input().shape()) n *= d;
            long in = c.input().type().byteSize(c.input().shape());
            TypeStat s = m.getOrDefault(c.type().id(), new TypeStat(c.type(), 0, 0, 0, 0));
            m.put(c.type().id(), new TypeStat(c.type(), s.tensors() + 1, s.elements() + n, s.inputBytes() + in,
                    s.outputBytes() + c.outputBytes()));
        }
        return new QuantizeResult(output, fileType, List.copyOf(m.values()), fileSize, seconds, threads);
    }

    public TypeStat total() {
        int t = 0;
        long e = 0, in = 0, out = 0;
        for (TypeStat s : byType) {
            t += s.tensors();
            e += s.elements();
            in += s.inputBytes();
            out += s.outputBytes();
        }
        return new TypeStat(null, t, e, in, out);
    }

    /** Weights converted per second of wall time (all tensors, copied ones included). */
    public double weightsPerSecond() {
        return seconds <= 0 ? 0 : total().elements() / seconds;
    }

    /** The summary table printed at the end of a run. */
    public String table() {
        StringBuilder b = new StringBuilder();
        String fmt = "%-8s %7s %14s %12s %12s %8s %8s%n";
        b.append(String.format(Locale.ROOT, fmt, "type", "tensors", "weights", "before MiB", "after MiB", "bpw in",
                "bpw out"));
        for (TypeStat s : byType) row(b, fmt, s.type().name(), s);
        row(b, fmt, "total", total());
        b.append(String.format(Locale.ROOT, "file %s: %.2f MiB, %.1f s with %d threads (%.1f M weights/s)%n",
                output, fileSize / 1048576.0, seconds, threads, weightsPerSecond() / 1e6));
        return b.toString();
    }

    private static void row(StringBuilder b, String fmt, String name, TypeStat s) {
        b.append(String.format(Locale.ROOT, fmt, name, s.tensors(), s.elements(),
                String.format(Locale.ROOT, "%.2f", s.inputBytes() / 1048576.0),
                String.format(Locale.ROOT, "%.2f", s.outputBytes() / 1048576.0),
                String.format(Locale.ROOT, "%.3f", s.bitsPerWeightBefore()),
                String.format(Locale.ROOT, "%.3f", s.bitsPerWeightAfter())));
    }
}
