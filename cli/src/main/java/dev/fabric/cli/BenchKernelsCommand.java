package dev.fabric.cli;

import dev.fabric.backend.cpu.CpuFeatures;
import dev.fabric.backend.cpu.CpuKernels;
import dev.fabric.backend.cpu.CpuKernels.Variant;
import dev.fabric.backend.cpu.KernelBench;
import dev.fabric.backend.cpu.KernelBench.Measurement;
import dev.fabric.backend.cpu.KernelBench.Op;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code fabric bench kernels}: every available kernel variant on L1-, L2- and RAM-sized rows, against generic. */
@Command(name = "kernels",
        mixinStandardHelpOptions = true,
        description = {"Time the CPU kernels (F16/BF16 conversions, dot, axpy) in every instruction-set variant",
            "this CPU runs, one thread, and show each as a ratio to the generic variant from the same run."},
        footer = {"", "Example:", "  fabric bench kernels --sizes 4K,64K,16M --samples 7"})
public final class BenchKernelsCommand implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--sizes", split = ",", paramLabel = "N",
            description = "Row lengths in elements; K and M suffixes (x1024). Default: ${DEFAULT-VALUE}.",
            defaultValue = "4K,64K,16M")
    List<String> sizes;

    @Option(names = "--samples", paramLabel = "S", description = "Timed samples per case; the median is shown. Default: ${DEFAULT-VALUE}.",
            defaultValue = "7")
    int samples;

    @Override
    public void run() {
        if (samples < 1) throw new CommandLine.ParameterException(spec.commandLine(), "--samples must be at least 1");
        long[] ns = sizes.stream().mapToLong(this::parseSize).toArray();
        List<Variant> variants = CpuKernels.available();
        CpuFeatures f = CpuFeatures.detect();
        var out = spec.commandLine().getOut();
        out.printf("CPU:       %s%n", KernelBench.cpuName());
        out.printf("features:  %s%n", f.describe());
        out.printf("variants:  %s available; auto picks %s%n", variants, CpuKernels.best());
        out.printf("method:    1 thread, median of %d samples (each ~1 ms of repeated calls) after warm-up%n", samples);
        out.printf("rates:     conversions in GB/s (bytes read + written), dot and axpy in GFLOP/s (2 per element)%n%n");
        StringBuilder head = new StringBuilder(String.format("%-12s %6s", "op", "n"));
        for (Variant v : variants) head.append(String.format(" %20s", v.name().toLowerCase()));
        out.println(head);
        for (long n : ns) {
            KernelBench bench = new KernelBench(n);
            try {
                for (Op op : Op.values()) {
                    StringBuilder row = new StringBuilder(String.format("%-12s %6s", op.label, label(n)));
                    double base = 0;
                    for (Variant v : variants) {
                        Measurement m = bench.measure(op, v, samples);
                        if (v == Variant.GENERIC) base = m.rate();
                        String cell = String.format("%7.2f %s", m.rate(), op.flops ? "GF/s" : "GB/s");
                        if (v != Variant.GENERIC) cell += String.format(" (%4.1fx)", m.rate() / base);
                        row.append(String.format(" %20s", cell));
                    }
                    out.println(row);
                    out.flush();
                }
            } finally {
                bench.free();
            }
        }
    }

    private long parseSize(String s) {
        String t = s.trim().toUpperCase();
        long mul = t.endsWith("K") ? 1024 : t.endsWith("M") ? 1024 * 1024 : 1;
        if (mul > 1) t = t.substring(0, t.length() - 1);
        try {
            long n = Long.parseLong(t) * mul;
            if (n < 1) throw new NumberFormatException();
            return n;
        } catch (NumberFormatException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--sizes: not a positive length: '" + s + "'");
        }
    }

    private static String label(long n) {
        if (n % (1024 * 1024) == 0) return n / (1024 * 1024) + "M";
        if (n % 1024 == 0) return n / 1024 + "K";
        return Long.toString(n);
    }
}
