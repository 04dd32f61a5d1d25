package dev.fabric.quant.pipeline;

import dev.fabric.backend.cpu.CpuKernels;
import dev.fabric.backend.cpu.MmapNative;
import dev.fabric.backend.cpu.QuantNative;
import dev.fabric.gguf.GgmlType;
import dev.fabric.quant.Quantizer;
import dev.fabric.quant.preset.TypeChoice;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.ShortPointer;

/**
 * Converts one tensor at a time from its memory-mapped input bytes to its output type, as llama-quantize's driver
 * does (spec section 3.4): the source becomes F32 exactly (F16/BF16 widened, quantized types dequantized), then
 * each matrix is quantized with the imatrix slice of its expert. Rows go through in chunks so that only one
 * chunk of F32 is held, plus the output tensor (the writer takes each tensor whole). Buffers are reused across
 * tensors and grown as needed.
 */
final class TensorConverter implements AutoCloseable {
    /** Elements per F32 chunk (16 MiB): large enough for the kernels' threads, small next to a model. */
    static final long CHUNK_ELEMENTS = 1L << 22;

    private final int threads;
    private BytePointer f32;
    private BytePointer out;
    // Two output buffers used in turn, so that tensor i can be written while tensor i+1 is converted.
    private final BytePointer[] outs = new BytePointer[2];

    TensorConverter(int threads) {
        QuantNative.load();
        this.threads = threads;
    }

    /** True when {@code t} can be read into F32 (with {@code requantize}, quantized sources count too). */
    static boolean canRead(GgmlType t) {
        return t == GgmlType.F32 || t == GgmlType.F16 || t == GgmlType.BF16 || isKernelType(t);
    }

    /** True when {@code t} can be written from F32. */
    static boolean canWrite(GgmlType t) {
        return t == GgmlType.F32 || t == GgmlType.F16 || t == GgmlType.BF16 || isKernelType(t);
    }

    static boolean isKernelType(GgmlType t) {
        return kernel(t) != null;
    }

    /** The native kernel's type for {@code t}, or null when there is none. */
    private static GgmlType kernel(GgmlType t) {
        return t.quantizable() ? t : null;
    }

    /**
     * Converts the tensor at {@code srcAddress} per {@code c}; returns the address of its {@code c.outputBytes()}
     * output bytes, valid until the next call. {@code imatrix} holds ne0 weights per expert (ne0 * ne2), or null.
     */
    long convert(long srcAddress, TypeChoice c, float[] imatrix) {
        return convert(srcAddress, c, imatrix, 0);
    }

    /** Converts into output buffer {@code slot} (0 or 1); its previous contents must no longer be needed. */
    long convert(long srcAddress, TypeChoice c, float[] imatrix, int slot) {
        long[] shape = c.input().shape();
        long ne0 = shape[0];
        long ne1 = shape.length > 1 ? shape[1] : 1;
        long elements = 1;
        for (long d : shape) elements = Math.multiplyExact(elements, d);
        long rows = elements / ne0;
        long matrices = rows / ne1;
        GgmlType from = c.input().type();
        GgmlType to = c.type();
        long outBytes = c.outputBytes();
        out = outs[slot] = ensure(outs[slot], outBytes);
        long chunkRows = Math.max(1, Math.min(ne1, CHUNK_ELEMENTS / ne0));
        long inRow = from.rowBytes(ne0);
        long outRow = to.rowBytes(ne0);
        boolean perExpert = imatrix != null && imatrix.length == ne0 * ne2(shape);
        for (long m = 0; m < matrices; m++) {
            // llama.cpp quantizes 3-D (MoE) tensors one expert matrix at a time, with that expert's weights
            float[] w = imatrix;
            if (imatrix != null && perExpert && ne2(shape) > 1) {
                int off = (int) (ne0 * (m % ne2(shape)));
                w = Arrays.copyOfRange(imatrix, off, off + (int) ne0);
            }
            for (long r = 0; r < ne1; r += chunkRows) {
                long n = Math.min(chunkRows, ne1 - r);
                long row = m * ne1 + r;
                long dst = out.address() + row * outRow;
                GgmlType q = kernel(to);
                if (q != null && (from == GgmlType.F32 || from == GgmlType.F16 || from == GgmlType.BF16)) {
                    // rows decoded per thread inside the kernel: no serial F32 pass, no F32 buffer
                    Quantizer.quantizeAt(q, from, srcAddress + row * inRow, n, ne0, w, dst, threads);
                } else {
                    fromF32(to, toF32(from, srcAddress + row * inRow, n, ne0), n, ne0, w, dst);
                }
                release(srcAddress + row * inRow, n * inRow);
            }
        }
        return out.address();
    }

    /**
     * Drops input pages already converted: they are file cache the kernel would reclaim anyway, but they count in
     * the resident size, which should stay near one output tensor plus one chunk.
     */
    static void release(long address, long bytes) {
        long page = PAGE;
        long start = (address + page - 1) / page * page;
        long end = (address + bytes) / page * page;
        if (end > start) MmapNative.fabric_madvise(start, end - start, MmapNative.MADV_DONTNEED);
    }

    /** The engine's conversion kernels (exact, IEEE round-to-nearest-even; tested over every bit pattern). */
    private static final CpuKernels CONVERT = CpuKernels.auto();
    private static final long PAGE = Math.max(4096, MmapNative.fabric_page_size());

    private static long ne2(long[] shape) {
        return shape.length > 2 ? shape[2] : 1;
    }

    /** Widens {@code n} rows to F32 and returns their address (the source itself when it is F32). */
    private long toF32(GgmlType from, long src, long n, long ne0) {
        if (from == GgmlType.F32) return src;
        long count = n * ne0;
        f32 = ensure(f32, 4 * count);
        long dst = f32.address();
        switch (from) {
            case F16 -> {
                try (ShortPointer s = new ShortPointer(MmapNative.window(src, 2 * count));
                     FloatPointer d = new FloatPointer(MmapNative.window(dst, 4 * count))) {
                    CONVERT.f16ToF32(s, d, count);
                }
            }
            case BF16 -> {
                try (ShortPointer s = new ShortPointer(MmapNative.window(src, 2 * count));
                     FloatPointer d = new FloatPointer(MmapNative.window(dst, 4 * count))) {
                    CONVERT.bf16ToF32(s, d, count);
                }
            }
            default -> Quantizer.dequantizeAt(kernel(from), src, n, ne0, dst, threads);
        }
        return dst;
    }

    private void fromF32(GgmlType to, long src, long n, long ne0, float[] imatrix, long dst) {
        long count = n * ne0;
        switch (to) {
            case F32 -> copy(src, dst, 4 * count);
            case F16 -> {
                try (FloatPointer s = new FloatPointer(MmapNative.window(src, 4 * count));
                     ShortPointer d = new ShortPointer(MmapNative.window(dst, 2 * count))) {
                    CONVERT.f32ToF16(s, d, count);
                }
            }
            case BF16 -> {
                try (FloatPointer s = new FloatPointer(MmapNative.window(src, 4 * count));
                     ShortPointer d = new ShortPointer(MmapNative.window(dst, 2 * count))) {
                    CONVERT.f32ToBf16(s, d, count);
                }
            }
            default -> Quantizer.quantizeAt(kernel(to), src, n, ne0, imatrix, dst, threads);
        }
    }

    private static void copy(long src, long dst, long bytes) {
        for (long off = 0; off < bytes; off += 1 << 30) {
            int k = (int) Math.min(1 << 30, bytes - off);
            view(dst + off, k).put(view(src + off, k));
        }
    }

    private static ByteBuffer view(long address, long bytes) {
        return MmapNative.window(address, bytes).asByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
    }

    private static BytePointer ensure(BytePointer p, long bytes) {
        if (p != null && p.capacity() >= bytes) return p;
        if (p != null) p.close();
        return new BytePointer(Math.max(bytes, 64));
    }

    @Override
    public void close() {
        if (f32 != null) f32.close();
        for (int i = 0; i < outs.length; i++) {
            if (outs[i] != null) outs[i].close();
            outs[i] = null;
        }
        f32 = out = null;
    }
}
