package dev.fabric.quant;

import dev.fabric.backend.cpu.CpuFeatures;

/**
 * Quantize throughput per type (not a test): {@code java -cp ... dev.fabric.quant.QuantBenchMain [rows] [cols] [threads]}.
 * Prints M weights/s for the reference and the imatrix path, via {@link Quantizer#benchQuantize}.
 */
public final class QuantBenchMain {
    private QuantBenchMain() {}

    public static void main(String[] args) {
        long rows = args.length > 0 ? Long.parseLong(args[0]) : 512;
        long cols = args.length > 1 ? Long.parseLong(args[1]) : 4096;
        int threads = args.length > 2 ? Integer.parseInt(args[2]) : 1;
        System.out.printf("quantize %d x %d, %d thread(s), CPU: %s%n", rows, cols, threads, CpuFeatures.detect().describe());
        System.out.printf("%-8s %12s %12s%n", "type", "ref Mw/s", "imatrix Mw/s");
        for (QuantType t : QuantType.values()) {
            double a = Quantizer.benchQuantize(t, rows, cols, false, threads, 1);
            double b = Quantizer.benchQuantize(t, rows, cols, true, threads, 1);
            System.out.printf("%-8s %12.1f %12.1f%n", t, rows * cols / a / 1e6, rows * cols / b / 1e6);
        }
    }
}
