package dev.fabric.quant;

import dev.fabric.backend.cpu.CpuVariant;
import dev.fabric.backend.cpu.QuantNative;
import dev.fabric.gguf.GgmlType;
import java.util.Random;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.ShortPointer;

/**
 * Quantizes float rows into ggml blocks and back, with the native kernels of {@code fabric_quant.cpp}. The bytes
 * are those llama-quantize writes on x86-64 for the same floats and importance weights (spec sections 3.3-3.5),
 * and they do not depend on the thread count.
 *
 * <p>Importance weights ({@code imatrix}) are one float per column, reused for every row: llama-quantize's
 * {@code in_sum2 / count} for the tensor. {@code null} selects each type's reference path, as llama-quantize does
 * for tensors the imatrix does not cover. Q8_0 ignores them.
 *
 * <p>{@code threads}: rows are split into that many contiguous ranges ({@code <= 0}: all hardware threads).
 * The {@code ...At} variants take raw native addresses (a mapped GGUF tensor, a JavaCPP pointer's address).
 */
public final class Quantizer {
    private static volatile int dequantizeVariant;

    static {
        QuantNative.load();
        dequantizeVariant = QuantNative.fabric_quant_set_isa(CpuVariant.isaBits());   // as QuantNative did
    }

    private Quantizer() {}

    /** The kernel build in use: "scalar", "avx2" or "avx512" (dequantizers and the k-quant sub-block searches). */
    public static String dequantizeVariant() {
        return switch (dequantizeVariant) {
            case QuantNative.DQ_AVX512 -> "avx512";
            case QuantNative.DQ_AVX2 -> "avx2";
            default -> "scalar";
        };
    }

    /**
     * Restricts the dequantizers to the instruction sets in {@code isaBits} ({@link dev.fabric.backend.cpu.CpuFeatures}
     * bits, masked with what this CPU has and the process allows, {@link CpuVariant}); 0 forces the scalar build. For tests and benchmarks: every build gives the
     * same floats. Returns {@link #dequantizeVariant()}.
     */
    public static synchronized String useInstructionSets(int isaBits) {
        dequantizeVariant = QuantNative.fabric_quant_set_isa(isaBits & CpuVariant.isaBits());
        return dequantizeVariant();
    }

    /** Bytes of one quantized row. */
    public static long rowBytes(GgmlType t, long ncols) {
        requireQuantizable(t);
        if (ncols <= 0 || ncols % t.blockSize() != 0) {
            throw new IllegalArgumentException(t.name() + " needs a row length that is a positive multiple of "
                    + t.blockSize() + ", got " + ncols);
        }
        return ncols / t.blockSize() * t.typeSize();
    }

    /** {@link IllegalArgumentException} unless Fabric quantizes {@code t} ({@link GgmlType#quantizable()}). */
    public static void requireQuantizable(GgmlType t) {
        if (!t.quantizable())
            throw new IllegalArgumentException("no quantizer for " + t + " (Fabric quantizes " + GgmlType.quantizableTypes() + ")");
    }

    /** Quantizes {@code nrows x ncols} floats (row-major) from {@code src} into {@code dst}. */
    public static void quantize(GgmlType t, FloatPointer src, long nrows, long ncols, float[] imatrix,
                                BytePointer dst, int threads) {
        checkQuantize(t, nrows, ncols, imatrix);
        requireCapacity(src, nrows * ncols, 4, "src");
        requireCapacity(dst, nrows * rowBytes(t, ncols), 1, "dst");
        try (FloatPointer w = imatrix == null ? null : new FloatPointer(imatrix)) {
            check(QuantNative.fabric_quantize(t.id(), src, nrows, ncols, w, dst, threads), t, ncols);
        }
    }

    /** As {@link #quantize(GgmlType, FloatPointer, long, long, float[], BytePointer, int)} on raw native addresses. */
    public static void quantizeAt(GgmlType t, long srcAddress, long nrows, long ncols, float[] imatrix,
                                  long dstAddress, int threads) {
        checkQuantize(t, nrows, ncols, imatrix);
        try (FloatPointer w = imatrix == null ? null : new FloatPointer(imatrix)) {
            long wAddress = w == null ? 0 : w.address();
            check(QuantNative.fabric_quantize(t.id(), srcAddress, nrows, ncols, wAddress, dstAddress, threads),
                    t, ncols);
        }
    }

    /**
     * Quantizes rows stored as F32, F16 or BF16 at a native address (e.g. a mapped GGUF tensor), decoding one row
     * at a time per thread: no F32 copy of the whole tensor. Same bytes as decoding first.
     */
    public static void quantizeAt(GgmlType t, GgmlType srcType, long srcAddress, long nrows, long ncols,
                                  float[] imatrix, long dstAddress, int threads) {
        if (srcType != GgmlType.F32 && srcType != GgmlType.F16 && srcType != GgmlType.BF16) {
            throw new IllegalArgumentException("quantize reads F32, F16 or BF16 rows, not " + srcType);
        }
        checkQuantize(t, nrows, ncols, imatrix);
        try (FloatPointer w = imatrix == null ? null : new FloatPointer(imatrix)) {
            long wAddress = w == null ? 0 : w.address();
            check(QuantNative.fabric_quantize_from(t.id(), srcType.id(), srcAddress, nrows, ncols, wAddress,
                    dstAddress, threads), t, ncols);
        }
    }

    /** Quantizes a heap array; returns {@code nrows * rowBytes} bytes. */
    public static byte[] quantize(GgmlType t, float[] src, long nrows, long ncols, float[] imatrix, int threads) {
        checkQuantize(t, nrows, ncols, imatrix);
        if (src.length != nrows * ncols) {
            throw new IllegalArgumentException("src has " + src.length + " floats, expected " + nrows * ncols);
        }
        long bytes = nrows * rowBytes(t, ncols);
        try (FloatPointer s = new FloatPointer(src); BytePointer d = new BytePointer(bytes)) {
            quantize(t, s, nrows, ncols, imatrix, d, threads);
            byte[] out = new byte[Math.toIntExact(bytes)];
            d.get(out);
            return out;
        }
    }

    /** Dequantizes {@code nrows x ncols} elements of blocks from {@code src} into floats. */
    public static void dequantize(GgmlType t, BytePointer src, long nrows, long ncols, FloatPointer dst, int threads) {
        checkShape(t, nrows, ncols);
        requireCapacity(src, nrows * rowBytes(t, ncols), 1, "src");
        requireCapacity(dst, nrows * ncols, 4, "dst");
        check(QuantNative.fabric_dequantize(t.id(), src, nrows, ncols, dst, threads), t, ncols);
    }

    /** As {@link #dequantize(GgmlType, BytePointer, long, long, FloatPointer, int)} on raw native addresses. */
    public static void dequantizeAt(GgmlType t, long srcAddress, long nrows, long ncols, long dstAddress, int threads) {
        checkShape(t, nrows, ncols);
        check(QuantNative.fabric_dequantize(t.id(), srcAddress, nrows, ncols, dstAddress, threads), t, ncols);
    }

    /** Dequantizes a heap array of blocks. */
    public static float[] dequantize(GgmlType t, byte[] src, long nrows, long ncols, int threads) {
        checkShape(t, nrows, ncols);
        if (src.length != nrows * rowBytes(t, ncols)) {
            throw new IllegalArgumentException("src has " + src.length + " bytes, expected " + nrows * rowBytes(t, ncols));
        }
        try (BytePointer s = new BytePointer(src); FloatPointer d = new FloatPointer(nrows * ncols)) {
            dequantize(t, s, nrows, ncols, d, threads);
            float[] out = new float[Math.toIntExact(nrows * ncols)];
            d.get(out);
            return out;
        }
    }

    /** IEEE half bit patterns to floats, exactly. */
    public static float[] f16ToF32(short[] halves) {
        try (ShortPointer s = new ShortPointer(halves); FloatPointer d = new FloatPointer(halves.length)) {
            QuantNative.fabric_quant_f16_to_f32(s, d, halves.length);
            float[] out = new float[halves.length];
            d.get(out);
            return out;
        }
    }

    /** bfloat16 bit patterns to floats, exactly. */
    public static float[] bf16ToF32(short[] bf16) {
        try (ShortPointer s = new ShortPointer(bf16); FloatPointer d = new FloatPointer(bf16.length)) {
            QuantNative.fabric_quant_bf16_to_f32(s, d, bf16.length);
            float[] out = new float[bf16.length];
            d.get(out);
            return out;
        }
    }

    /** Floats to IEEE half bit patterns with ggml's rounding (nearest-even; NaN becomes sign|0x7E00). */
    public static short[] f32ToF16(float[] src) {
        try (FloatPointer s = new FloatPointer(src); ShortPointer d = new ShortPointer(src.length)) {
            QuantNative.fabric_quant_f32_to_f16(s, d, src.length);
            short[] out = new short[src.length];
            d.get(out);
            return out;
        }
    }

    /** One timed quantize pass: elements, wall seconds and CPU seconds (the thread's with 1 thread, else the process's). */
    public record BenchResult(GgmlType type, long weights, int threads, boolean imatrix, double wallSeconds,
                              double cpuSeconds) {
        public double weightsPerSecond() {
            return weights / wallSeconds;
        }

        public double weightsPerCpuSecond() {
            return cpuSeconds > 0 ? weights / cpuSeconds : Double.NaN;
        }
    }

    /**
     * Throughput measurement for {@code fabric bench quantize}: quantizes {@code nrows x ncols} Gaussian floats
     * (fixed seed) with {@code threads} threads, with or without (random positive) importance weights, after one
     * warm-up pass. Returns the wall seconds of the timed pass.
     */
    public static double benchQuantize(GgmlType t, long nrows, long ncols, boolean withImatrix, int threads, long seed) {
        return benchQuantizeDetailed(t, nrows, ncols, withImatrix, threads, seed).wallSeconds();
    }

    /** As {@link #benchQuantize}, also reporting the process CPU time of the timed pass (robust on a busy machine). */
    public static BenchResult benchQuantizeDetailed(GgmlType t, long nrows, long ncols, boolean withImatrix, int threads,
                                                    long seed) {
        checkShape(t, nrows, ncols);
        Random rnd = new Random(seed);
        float[] imatrix = null;
        if (withImatrix) {
            imatrix = new float[Math.toIntExact(ncols)];
            for (int j = 0; j < imatrix.length; j++) imatrix[j] = (float) Math.exp(rnd.nextGaussian());
        }
        long n = nrows * ncols;
        try (FloatPointer src = new FloatPointer(n); BytePointer dst = new BytePointer(nrows * rowBytes(t, ncols))) {
            float[] row = new float[Math.toIntExact(ncols)];
            for (long r = 0; r < nrows; r++) {
                for (int j = 0; j < row.length; j++) row[j] = (float) rnd.nextGaussian();
                src.position(r * ncols).put(row, 0, row.length);
            }
            src.position(0);
            long warm = Math.min(nrows, Math.max(1, 65536 / ncols));
            quantize(t, src, warm, ncols, imatrix, dst, threads);
            // One thread runs on the calling thread: its CPU clock is precise. Otherwise the process clock.
            boolean own = threads == 1;
            long c0 = own ? threadCpuNanos() : processCpuNanos();
            long t0 = System.nanoTime();
            quantize(t, src, nrows, ncols, imatrix, dst, threads);
            double wall = (System.nanoTime() - t0) * 1e-9;
            long c1 = own ? threadCpuNanos() : processCpuNanos();
            return new BenchResult(t, n, threads, withImatrix, wall, c0 < 0 ? Double.NaN : (c1 - c0) * 1e-9);
        }
    }

    private static long threadCpuNanos() {
        var mx = java.lang.management.ManagementFactory.getThreadMXBean();
        return mx.isCurrentThreadCpuTimeSupported() ? mx.getCurrentThreadCpuTime() : -1;
    }

    private static long processCpuNanos() {
        if (java.lang.management.ManagementFactory.getOperatingSystemMXBean()
                instanceof com.sun.management.OperatingSystemMXBean os) {
            return os.getProcessCpuTime();
        }
        return -1;
    }

    private static void checkShape(GgmlType t, long nrows, long ncols) {
        if (nrows < 0) throw new IllegalArgumentException("nrows must be >= 0, got " + nrows);
        rowBytes(t, ncols);
    }

    private static void checkQuantize(GgmlType t, long nrows, long ncols, float[] imatrix) {
        checkShape(t, nrows, ncols);
        if (imatrix != null && imatrix.length != ncols) {
            throw new IllegalArgumentException("imatrix has " + imatrix.length + " weights, the rows have " + ncols
                    + " columns");
        }
    }

    private static void requireCapacity(Pointer p, long elements, int elementBytes, String what) {
        if (p == null || p.isNull()) throw new NullPointerException(what);
        long have = p.limit() > 0 ? p.limit() - p.position() : -1;
        if (have >= 0 && have < elements) {
            throw new IllegalArgumentException(what + " holds " + have + " elements of " + elementBytes
                    + " bytes, needs " + elements);
        }
    }

    private static void check(long rc, GgmlType t, long ncols) {
        if (rc == QuantNative.ERR_TYPE) throw new IllegalStateException("native kernels lack " + t);
        if (rc == QuantNative.ERR_SHAPE) throw new IllegalArgumentException(t + ": bad row length " + ncols);
    }
}
