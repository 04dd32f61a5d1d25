package dev.fabric.backend.cpu;

import dev.fabric.backend.cpu.CpuKernels.Variant;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.ShortPointer;

/**
 * Measures the CPU kernels, one thread, one variant at a time, on rows of a given length: warm-up, then
 * several timed samples, the median reported. Each sample repeats the call until it lasts about a
 * millisecond, so short rows are timed over many calls (each call includes one JNI crossing, some tens of
 * nanoseconds). Used by {@code fabric bench kernels}.
 */
public final class KernelBench {

    /** A benchmarked operation; bytes moved per element for conversions, flops per element for the rest. */
    public enum Op {
        F16_TO_F32("f16->f32", 6, false),
        F32_TO_F16("f32->f16", 6, false),
        BF16_TO_F32("bf16->f32", 6, false),
        DOT_F32("dot f32", 2, true),
        DOT_F16("dot f16.f32", 2, true),
        AXPY_F32("axpy f32", 2, true);

        public final String label;
        public final int perElement;
        public final boolean flops;

        Op(String label, int perElement, boolean flops) {
            this.label = label;
            this.perElement = perElement;
            this.flops = flops;
        }

        /** "GFLOP/s" or "GB/s". */
        public String unit() {
            return flops ? "GFLOP/s" : "GB/s";
        }
    }

    /** The median time of one call and the rate it gives (GB/s or GFLOP/s, decimal giga). */
    public record Measurement(Op op, Variant variant, long n, double secondsPerCall) {
        public double rate() {
            return op.perElement * (double) n / secondsPerCall / 1e9;
        }
    }

    private final long n;
    private final FloatPointer x, y, out;
    private final ShortPointer h, hout;
    private volatile float sink;

    /** Rows of n elements, filled with values in [-1, 1] (normal numbers, no special paths). */
    public KernelBench(long n) {
        CpuNative.load();
        this.n = n;
        x = new FloatPointer(n);
        y = new FloatPointer(n);
        out = new FloatPointer(n);
        h = new ShortPointer(n);
        hout = new ShortPointer(n);
        SplittableRandom rnd = new SplittableRandom(1);
        float[] chunk = new float[4096];
        for (long i = 0; i < n; i += chunk.length) {
            int len = (int) Math.min(chunk.length, n - i);
            for (int j = 0; j < len; j++) chunk[j] = (float) rnd.nextDouble(-1, 1);
            x.position(i).put(chunk, 0, len);
            y.position(i).put(chunk, 0, len);
            out.position(i).put(chunk, 0, len);  // axpy accumulates here: start from normal numbers, not garbage
        }
        x.position(0);
        y.position(0);
        out.position(0);
        CpuKernels.of(Variant.GENERIC).f32ToF16(x, h, n);
    }

    public Measurement measure(Op op, Variant variant, int samples) {
        CpuKernels k = CpuKernels.of(variant);
        Runnable call = switch (op) {
            case F16_TO_F32 -> () -> k.f16ToF32(h, out, n);
            case F32_TO_F16 -> () -> k.f32ToF16(x, hout, n);
            case BF16_TO_F32 -> () -> k.bf16ToF32(h, out, n);
            case DOT_F32 -> () -> sink += k.dot(x, y, n);
            case DOT_F16 -> () -> sink += k.dotF16(h, y, n);
            // a tiny a keeps y bounded over millions of calls
            case AXPY_F32 -> () -> k.axpy(1e-9f, x, out, n);
        };
        long t0 = System.nanoTime();
        call.run();
        long once = Math.max(1, System.nanoTime() - t0);
        int reps = (int) Math.max(1, Math.min(1_000_000, 1_000_000L / once));  // about 1 ms per sample
        for (int w = 0; w < 3; w++) time(call, reps);
        double[] t = new double[samples];
        for (int s = 0; s < samples; s++) t[s] = time(call, reps);
        Arrays.sort(t);
        return new Measurement(op, variant, n, t[samples / 2]);
    }

    private static double time(Runnable call, int reps) {
        long t0 = System.nanoTime();
        for (int r = 0; r < reps; r++) call.run();
        return (System.nanoTime() - t0) / 1e9 / reps;
    }

    /** Frees the rows. */
    public void free() {
        x.close();
        y.close();
        out.close();
        h.close();
        hout.close();
    }

    /** The CPU's model name (Linux /proc/cpuinfo), else the architecture. */
    public static String cpuName() {
        try {
            Path p = Path.of("/proc/cpuinfo");
            if (Files.isReadable(p)) {
                for (String line : Files.readAllLines(p))
                    if (line.startsWith("model name")) return line.substring(line.indexOf(':') + 1).trim();
            }
        } catch (IOException | RuntimeException e) {
            // fall through to the architecture
        }
        return System.getProperty("os.arch");
    }
}
