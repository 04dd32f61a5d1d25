package dev.fabric.quant;

import dev.fabric.backend.cpu.CpuFeatures;
import dev.fabric.gguf.GgmlType;
import java.lang.management.ManagementFactory;

/**
 * Quantize/dequantize throughput per type (a benchmark, not a test):
 * {@code java -cp ... dev.fabric.quant.QuantBenchMain [rows] [cols] [threads] [scalar|avx2|avx512]}. Quantize goes through
 * {@link Quantizer#benchQuantizeDetailed}; per-CPU-second figures are the ones to compare on a shared machine.
 */
public final class QuantBenchMain {
    private QuantBenchMain() {}

    public static void main(String[] args) {
        long rows = args.length > 0 ? Long.parseLong(args[0]) : 256;
        long cols = args.length > 1 ? Long.parseLong(args[1]) : 4096;
        int threads = args.length > 2 ? Integer.parseInt(args[2]) : 1;
        if (args.length > 3) {   // dequantize build: scalar | avx2 | avx512
            Quantizer.useInstructionSets(switch (args[3]) {
                case "scalar" -> 0;
                case "avx2" -> CpuFeatures.AVX2;
                default -> -1;
            });
        }
        System.out.printf("%d x %d, %d thread(s), CPU: %s, dequantize build: %s%n", rows, cols, threads,
                CpuFeatures.detect().describe(), Quantizer.dequantizeVariant());
        System.out.printf("%-7s %10s %10s %10s %10s %12s  (M weights/s)%n", "type", "ref wall", "ref cpu",
                "imat wall", "imat cpu", "dequant " + (threads == 1 ? "cpu" : "wall"));
        for (GgmlType t : GgmlType.values()) {
            var a = Quantizer.benchQuantizeDetailed(t, rows, cols, false, threads, 1);
            var b = Quantizer.benchQuantizeDetailed(t, rows, cols, true, threads, 1);
            byte[] q = Quantizer.quantize(t, new float[(int) (rows * cols)], rows, cols, null, threads);
            Quantizer.dequantize(t, q, rows, cols, threads);
            // Dequantize alone (no array copies): pointers in, pointers out.
            var mx = ManagementFactory.getThreadMXBean();
            double dq;
            try (var qp = new org.bytedeco.javacpp.BytePointer(q);
                 var yp = new org.bytedeco.javacpp.FloatPointer(rows * cols)) {
                long d0 = threads == 1 ? mx.getCurrentThreadCpuTime() : System.nanoTime();
                for (int r = 0; r < 10; r++) Quantizer.dequantize(t, qp, rows, cols, yp, threads);
                dq = ((threads == 1 ? mx.getCurrentThreadCpuTime() : System.nanoTime()) - d0) * 1e-9 / 10;
            }
            System.out.printf("%-7s %10.1f %10.1f %10.1f %10.1f %12.0f%n", t, a.weightsPerSecond() / 1e6,
                    a.weightsPerCpuSecond() / 1e6, b.weightsPerSecond() / 1e6, b.weightsPerCpuSecond() / 1e6,
                    rows * cols / dq / 1e6);
        }
    }
}
