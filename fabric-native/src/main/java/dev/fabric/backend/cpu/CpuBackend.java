package dev.fabric.backend.cpu;

import dev.fabric.backend.Backend;
import dev.fabric.backend.DType;
import dev.fabric.backend.RopeLayout;
import dev.fabric.backend.Tensor;
import java.util.Arrays;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.Pointer;

/**
 * The CPU backend: tensors in host memory (64-byte aligned), ops run by the native kernels of
 * {@code fabric_ops.cpp} on {@link #threads()} threads. Shapes and types are checked here, once per op.
 */
public final class CpuBackend implements Backend {
    private final int threads;

    /** A backend using {@code threads} threads per op (0: all cores). */
    public CpuBackend(int threads) {
        if (threads < 0) throw new IllegalArgumentException("threads " + threads);
        CpuVariant.check();
        OpsNative.load();
        this.threads = threads;
    }

    public CpuBackend() {
        this(0);
    }

    public int threads() {
        return threads;
    }

    /** The native kernel variant in use ("generic", "avx2", "avx512" or "neon"; see {@link CpuVariant}). */
    public static String kernelVariant() {
        OpsNative.load();
        return OpsNative.fabric_ops_variant();
    }

    @Override
    public String name() {
        return "cpu(" + kernelVariant() + ", threads " + (threads == 0 ? "all" : threads) + ")";
    }

    @Override
    public Tensor allocate(DType type, long... shape) {
        long n = 1;
        for (long d : shape) n = Math.multiplyExact(n, d);
        if (shape.length > 0 && shape[shape.length - 1] % type.blockSize() != 0)
            throw new IllegalArgumentException("rows of " + type + " must be whole blocks: " + Arrays.toString(shape));
        long address = OpsNative.fabric_alloc(type.bytesOf(n));
        if (address == 0) throw new OutOfMemoryError("cannot allocate tensor " + type + Arrays.toString(shape));
        return Tensor.of(this, type, shape, address, true, null);
    }

    @Override
    public Tensor wrap(DType type, long address, Object owner, long... shape) {
        if (address == 0) throw new IllegalArgumentException("null address");
        return Tensor.of(this, type, shape, address, false, owner);
    }

    @Override
    public void free(long address) {
        OpsNative.fabric_free(address);
    }

    @Override
    public void write(Tensor dst, float[] src) {
        need(dst, DType.F32, "write");
        if (src.length != dst.numel()) throw new IllegalArgumentException(src.length + " floats into " + dst);
        floatsAt(dst.address(), src.length).put(src, 0, src.length);
    }

    @Override
    public void write(Tensor dst, int[] src) {
        need(dst, DType.I32, "write");
        if (src.length != dst.numel()) throw new IllegalArgumentException(src.length + " ints into " + dst);
        intsAt(dst.address(), src.length).put(src, 0, src.length);
    }

    @Override
    public void write(Tensor dst, byte[] src) {
        if (src.length != dst.byteSize()) throw new IllegalArgumentException(src.length + " bytes into " + dst);
        new org.bytedeco.javacpp.BytePointer(new At(dst.address(), src.length)).capacity(src.length).limit(src.length)
                .put(src, 0, src.length);
    }

    @Override
    public float[] readFloats(Tensor src) {
        need(src, DType.F32, "readFloats");
        float[] out = new float[Math.toIntExact(src.numel())];
        floatsAt(src.address(), out.length).get(out, 0, out.length);
        return out;
    }

    // ---- ops ---------------------------------------------------------------------------------------------

    @Override
    public void get_rows(Tensor table, Tensor ids, Tensor out) {
        weightType(table, "get_rows");
        need(ids, DType.I32, "get_rows ids");
        need(out, DType.F32, "get_rows out");
        if (table.rank() != 2 || out.rows() != ids.numel() || out.cols() != table.cols())
            throw shapes("get_rows", table, ids, out);
        long bad = OpsNative.fabric_op_get_rows(table.type().ggmlId(), table.address(), table.rows(), table.cols(),
                ids.address(), ids.numel(), out.address(), threads);
        if (bad >= 0) throw new IndexOutOfBoundsException("get_rows: id #" + bad + " is outside 0.." + (table.rows() - 1));
    }

    @Override
    public void matmul(Tensor x, Tensor w, Tensor y) {
        weightType(w, "matmul");
        need(x, DType.F32, "matmul x");
        need(y, DType.F32, "matmul y");
        if (w.rank() != 2 || x.cols() != w.cols() || y.cols() != w.rows() || y.rows() != x.rows())
            throw shapes("matmul", x, w, y);
        OpsNative.fabric_op_matmul(w.type().ggmlId(), w.address(), w.rows(), w.cols(), x.address(), x.rows(),
                y.address(), threads);
    }

    @Override
    public void rms_norm(Tensor x, float eps, Tensor y) {
        sameF32("rms_norm", x, y);
        OpsNative.fabric_op_rms_norm(x.address(), x.rows(), x.cols(), eps, y.address(), threads);
    }

    @Override
    public void rope(Tensor x, Tensor pos, int nRot, float thetaBase, RopeLayout layout, Tensor y) {
        sameF32("rope", x, y);
        need(pos, DType.I32, "rope pos");
        if (x.rank() != 3 || pos.numel() != x.dim(0) || nRot <= 0 || nRot > x.dim(2) || nRot % 2 != 0)
            throw shapes("rope (nRot " + nRot + ")", x, pos, y);
        OpsNative.fabric_op_rope(x.address(), x.dim(0), x.dim(1), x.dim(2), nRot, pos.address(), thetaBase,
                layout == RopeLayout.NEOX ? OpsNative.ROPE_NEOX : OpsNative.ROPE_NORMAL, y.address(), threads);
    }

    @Override
    public void attention(Tensor q, Tensor k, Tensor v, long nKv, long qPos0, float scale, Tensor out) {
        sameF32("attention", q, out);
        if (k.type() != v.type() || (k.type() != DType.F32 && k.type() != DType.F16))
            throw new IllegalArgumentException("attention: KV cache must be F32 or F16, got " + k + " " + v);
        if (q.rank() != 3 || k.rank() != 3 || !Arrays.equals(k.shape(), v.shape()) || k.dim(2) != q.dim(2)
                || q.dim(1) % k.dim(1) != 0 || nKv > k.dim(0) || qPos0 < 0 || qPos0 + q.dim(0) > nKv)
            throw shapes("attention (nKv " + nKv + ", qPos0 " + qPos0 + ")", q, k, out);
        OpsNative.fabric_op_attention(q.address(), q.dim(0), q.dim(1), q.dim(2), k.type().ggmlId(), k.address(),
                v.address(), nKv, k.dim(1), k.dim(1) * k.dim(2), qPos0, scale, out.address(), threads);
    }

    @Override
    public void softmax(Tensor x, Tensor y) {
        sameF32("softmax", x, y);
        OpsNative.fabric_op_softmax(x.address(), x.rows(), x.cols(), y.address(), threads);
    }

    @Override
    public void swiglu(Tensor gate, Tensor up, Tensor y) {
        sameF32("swiglu", gate, y);
        sameF32("swiglu", up, y);
        OpsNative.fabric_op_swiglu(gate.address(), up.address(), y.rows(), y.cols(), y.address(), threads);
    }

    @Override
    public void add(Tensor a, Tensor b, Tensor y) {
        broadcast("add", a, b, y);
        OpsNative.fabric_op_add(a.address(), a.rows(), a.cols(), b.address(), b.rows(), y.address(), threads);
    }

    @Override
    public void mul(Tensor a, Tensor b, Tensor y) {
        broadcast("mul", a, b, y);
        OpsNative.fabric_op_mul(a.address(), a.rows(), a.cols(), b.address(), b.rows(), y.address(), threads);
    }

    @Override
    public void scale(Tensor a, float s, Tensor y) {
        sameF32("scale", a, y);
        OpsNative.fabric_op_scale(a.address(), a.numel(), s, y.address(), threads);
    }

    @Override
    public void copy(Tensor src, Tensor dst) {
        need(src, DType.F32, "copy src");
        if (src.numel() != dst.numel() || dst.type() == DType.I32 || dst.type().isQuantized())
            throw shapes("copy (to F32, F16 or BF16 only)", src, dst);
        OpsNative.fabric_convert_f32(src.address(), src.numel(), dst.type().ggmlId(), dst.address(), threads);
    }

    @Override
    public void close() {
        // tensors free their own memory; the native pool lives for the process
    }

    // ---- checks ------------------------------------------------------------------------------------------

    private static void need(Tensor t, DType type, String what) {
        if (t.type() != type) throw new IllegalArgumentException(what + ": expected " + type + ", got " + t);
    }

    private static void weightType(Tensor t, String op) {
        if (OpsNative.fabric_type_supported(t.type().ggmlId()) == 0)
            throw new IllegalArgumentException(op + ": no kernel for weights of type " + t.type());
    }

    private static void sameF32(String op, Tensor x, Tensor y) {
        need(x, DType.F32, op);
        need(y, DType.F32, op);
        if (x.numel() != y.numel() || x.cols() != y.cols()) throw shapes(op, x, y);
    }

    private static void broadcast(String op, Tensor a, Tensor b, Tensor y) {
        sameF32(op, a, y);
        need(b, DType.F32, op);
        if (b.cols() != a.cols() || b.rows() == 0 || a.rows() % b.rows() != 0) throw shapes(op, a, b, y);
    }

    private static IllegalArgumentException shapes(String op, Tensor... ts) {
        return new IllegalArgumentException(op + ": shapes do not fit: " + Arrays.toString(ts));
    }

    private static FloatPointer floatsAt(long address, long n) {
        return new FloatPointer(new At(address, n * 4)).capacity(n).limit(n);
    }

    private static IntPointer intsAt(long address, long n) {
        return new IntPointer(new At(address, n * 4)).capacity(n).limit(n);
    }

    /** A pointer that owns nothing, at a native address. */
    private static final class At extends Pointer {
        At(long address, long bytes) {
            super((Pointer) null);
            this.address = address;
            this.limit = bytes;
            this.capacity = bytes;
        }
    }
}
