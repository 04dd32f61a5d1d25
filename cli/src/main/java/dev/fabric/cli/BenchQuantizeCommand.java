package dev.fabric.cli;

import dev.fabric.backend.cpu.CpuFeatures;
import dev.fabric.backend.cpu.KernelBench;
import dev.fabric.gguf.GgmlType;
import dev.fabric.quant.Quantizer;
import java.io.PrintWriter;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code fabric bench quantize}: quantization throughput per type, one thread and all threads. */
@Command(name = "quantize", mixinStandardHelpOptions = true,
        description = {"Quantization throughput for each type, in input GB/s (the input counted as F16, 2 bytes per",
            "weight, as when quantizing an F16 model), on 1 thread and on --threads threads, with and without",
            "importance weights. Random Gaussian rows; the bytes made do not depend on the thread count."},
        footer = {"", "Examples:", "  fabric bench quantize", "  fabric bench quantize --types Q4_K,Q6_K --rows 1024 --threads 2"})
public final class BenchQuantizeCommand implements Runnable {
    @Option(names = "--types", split = ",", paramLabel = "TYPE",
            description = "Types to measure (default: all: Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, "
                    + "IQ4_NL, IQ4_XS).")
    List<GgmlType> types = GgmlType.quantizableTypes();

    @Option(names = "--rows", defaultValue = "256", description = "Rows per run (default ${DEFAULT-VALUE}).")
    int rows;

    @Option(names = "--cols", defaultValue = "4096", description = "Row length, a multiple of 256 (default ${DEFAULT-VALUE}).")
    int cols;

    @Option(names = {"-t", "--threads"}, description = "Threads for the multi-threaded column (default: all cores).")
    int threads = Runtime.getRuntime().availableProcessors();

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        Limits.atLeast(rows, 1, "--rows");
        if (cols < 256 || cols % 256 != 0) throw Limits.usage("--cols must be a positive multiple of 256, got " + cols);
        Limits.threads(threads, "--threads");
        if (threads == 0) throw Limits.usage("--threads must be at least 1, got 0");
        for (GgmlType t : types)
            if (!t.quantizable()) throw Limits.usage("--types: no quantizer for " + t + "; one of " + GgmlType.quantizableTypes());
        PrintWriter out = spec.commandLine().getOut();
        out.printf("CPU: %s | features: %s | dequantize build: %s%n", KernelBench.cpuName(),
                CpuFeatures.detect().describe(), Quantizer.dequantizeVariant());
        out.printf("%d x %d weights per run (%.1f MB as F16), after one warm-up; wall time%n%n", rows, cols,
                2.0 * rows * cols / 1e6);
        out.printf("%-8s %-8s %14s %14s %9s%n", "type", "imatrix", "1 thread", threads + " threads", "speedup");
        for (GgmlType t : types) {
            for (boolean imat : new boolean[] {false, true}) {
                double one = Quantizer.benchQuantize(t, rows, cols, imat, 1, 42);
                double many = Quantizer.benchQuantize(t, rows, cols, imat, threads, 42);
                double bytes = 2.0 * rows * cols;
                out.printf("%-8s %-8s %9.3f GB/s %9.3f GB/s %8.2fx%n", t, imat ? "yes" : "no", bytes / one / 1e9,
                        bytes / many / 1e9, one / many);
            }
        }
        out.flush();
    }
}
