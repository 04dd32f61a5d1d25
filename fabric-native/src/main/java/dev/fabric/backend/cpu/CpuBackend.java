package dev.fabric.backend.cpu;

import dev.fabric.backend.Backend;
import dev.fabric.backend.DType;
import dev.fabric.backend.Op;
import dev.fabric.backend.RopeLayout;
import dev.fabric.backend.Tensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import org.bytedeco.javacpp.BytePointer;
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
        TrainNative.load();
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
    public Tensor view(Tensor base, long byteOffset, long... shape) {
        if (base.backend() != this) throw new IllegalArgumentException("view: " + base + " belongs to " + base.backend().name());
        long n = 1;
        for (long d : shape) {
            if (d < 0) throw new IllegalArgumentException("view: negative dimension " + Arrays.toString(shape));
            n = Math.multiplyExact(n, d);
        }
        if (byteOffset < 0 || byteOffset + base.type().bytesOf(n) > base.byteSize())
            throw new IndexOutOfBoundsException("view of " + base.type().bytesOf(n) + " bytes at " + byteOffset + " outside "
                    + base + " (" + base.byteSize() + " bytes)");
        return Tensor.of(this, base.type(), shape, base.address() + byteOffset, false, base);
    }

    @Override
    public ByteBuffer hostBytes(Tensor t) {
        long bytes = t.byteSize();
        return new BytePointer(new At(t.address(), bytes)).capacity(bytes).limit(bytes).asByteBuffer()
                .order(ByteOrder.nativeOrder());
    }

    @Override
    public boolean supports(Op op, DType type) {
        return switch (op) {
            // any stored weight type the kernels read (fabric_type_supported); gradients: input always, weight for F32
            case MATMUL, GET_ROWS -> type != DType.I32 && OpsNative.fabric_type_supported(type.ggmlId()) != 0;
            case ATTENTION -> type == DType.F32 || type == DType.F16;
            case COPY -> type == DType.F32 || type == DType.F16 || type == DType.BF16;
            case RMS_NORM, ROPE, SOFTMAX, SWIGLU, ADD, MUL, SCALE, ATTENTION_TRAIN, DROPOUT, CROSS_ENTROPY ->
                    type == DType.F32;
        };
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

    // ---- training ops (TrainNative) -----------------------------------------------------------------------

    @Override
    public void matmul_backward_x(Tensor dy, Tensor w, Tensor dx, boolean accumulate) {
        weightType(w, "matmul_backward_x");
        need(dy, DType.F32, "matmul_backward_x dy");
        need(dx, DType.F32, "matmul_backward_x dx");
        if (w.rank() != 2 || dy.cols() != w.rows() || dx.cols() != w.cols() || dx.rows() != dy.rows())
            throw shapes("matmul_backward_x", dy, w, dx);
        if (TrainNative.fabric_train_matmul_backward_x(w.type().ggmlId(), w.address(), w.rows(), w.cols(),
                dy.address(), dy.rows(), dx.address(), accumulate ? 1 : 0, threads) != 0)
            throw new IllegalArgumentException("matmul_backward_x: no kernel for weights of type " + w.type());
    }

    @Override
    public void matmul_backward_w(Tensor x, Tensor dy, Tensor dw) {
        need(x, DType.F32, "matmul_backward_w x");
        need(dy, DType.F32, "matmul_backward_w dy");
        need(dw, DType.F32, "matmul_backward_w dw");
        if (dw.rank() != 2 || x.rows() != dy.rows() || dw.rows() != dy.cols() || dw.cols() != x.cols())
            throw shapes("matmul_backward_w", x, dy, dw);
        TrainNative.fabric_train_matmul_backward_w(x.address(), x.rows(), x.cols(), dy.address(), dy.cols(),
                dw.address(), threads);
    }

    @Override
    public void rms_norm_backward(Tensor x, Tensor dy, float eps, Tensor dx) {
        sameF32("rms_norm_backward", x, dy);
        sameF32("rms_norm_backward", x, dx);
        TrainNative.fabric_train_rms_norm_backward(x.address(), dy.address(), x.rows(), x.cols(), eps, dx.address(),
                threads);
    }

    @Override
    public void column_sum(Tensor a, Tensor b, Tensor out) {
        need(a, DType.F32, "column_sum a");
        need(out, DType.F32, "column_sum out");
        if (b != null) sameF32("column_sum", a, b);
        if (out.numel() != a.cols()) throw shapes("column_sum", a, out);
        TrainNative.fabric_train_column_sum(a.address(), b == null ? 0 : b.address(), a.rows(), a.cols(),
                out.address(), threads);
    }

    @Override
    public void softmax_backward(Tensor y, Tensor dy, Tensor dx) {
        sameF32("softmax_backward", y, dy);
        sameF32("softmax_backward", y, dx);
        TrainNative.fabric_train_softmax_backward(y.address(), dy.address(), y.rows(), y.cols(), dx.address(), threads);
    }

    @Override
    public void swiglu_backward(Tensor gate, Tensor up, Tensor dy, Tensor dgate, Tensor dup) {
        sameF32("swiglu_backward", gate, up);
        sameF32("swiglu_backward", gate, dy);
        sameF32("swiglu_backward", gate, dgate);
        sameF32("swiglu_backward", gate, dup);
        TrainNative.fabric_train_swiglu_backward(gate.address(), up.address(), dy.address(), gate.numel(),
                dgate.address(), dup.address(), threads);
    }

    @Override
    public void dropout(Tensor x, float p, long seed, Tensor y) {
        sameF32("dropout", x, y);
        if (!(p >= 0 && p < 1)) throw new IllegalArgumentException("dropout p " + p);
        TrainNative.fabric_train_dropout(x.address(), x.numel(), p, seed, y.address(), threads);
    }

    @Override
    public void get_rows_backward(Tensor dy, Tensor ids, Tensor dtable) {
        need(dy, DType.F32, "get_rows_backward dy");
        need(ids, DType.I32, "get_rows_backward ids");
        need(dtable, DType.F32, "get_rows_backward dtable");
        if (dtable.rank() != 2 || dy.rows() != ids.numel() || dy.cols() != dtable.cols())
            throw shapes("get_rows_backward", dy, ids, dtable);
        TrainNative.fabric_train_get_rows_backward(dy.address(), ids.address(), ids.numel(), dtable.cols(),
                dtable.address(), dtable.rows(), threads);
    }

    @Override
    public void attention_train(Tensor q, Tensor k, Tensor v, Tensor seg, int batch, int heads, int kvHeads,
            float scale, Tensor out, Tensor lse) {
        long d = attentionShapes("attention_train", q, k, v, seg, batch, heads, kvHeads);
        sameF32("attention_train", q, out);
        need(lse, DType.F32, "attention_train lse");
        if (lse.numel() != q.rows() * heads) throw shapes("attention_train lse", q, lse);
        TrainNative.fabric_train_attention(q.address(), k.address(), v.address(), seg == null ? 0 : seg.address(),
                batch, q.rows() / batch, heads, kvHeads, d, scale, out.address(), lse.address(), threads);
    }

    @Override
    public void attention_backward(Tensor q, Tensor k, Tensor v, Tensor seg, Tensor out, Tensor lse, Tensor dout,
            int batch, int heads, int kvHeads, float scale, Tensor dq, Tensor dk, Tensor dv) {
        long d = attentionShapes("attention_backward", q, k, v, seg, batch, heads, kvHeads);
        sameF32("attention_backward", q, out);
        sameF32("attention_backward", q, dout);
        sameF32("attention_backward", q, dq);
        sameF32("attention_backward", k, dk);
        sameF32("attention_backward", v, dv);
        if (lse.numel() != q.rows() * heads) throw shapes("attention_backward lse", q, lse);
        TrainNative.fabric_train_attention_backward(q.address(), k.address(), v.address(),
                seg == null ? 0 : seg.address(), out.address(), lse.address(), dout.address(), batch,
                q.rows() / batch, heads, kvHeads, d, scale, dq.address(), dk.address(), dv.address(), threads);
    }

    private static long attentionShapes(String op, Tensor q, Tensor k, Tensor v, Tensor seg, int batch, int heads,
            int kvHeads) {
        need(q, DType.F32, op + " q");
        need(k, DType.F32, op + " k");
        need(v, DType.F32, op + " v");
        if (seg != null) need(seg, DType.I32, op + " seg");
        long d = heads <= 0 ? 0 : q.cols() / heads;
        if (batch <= 0 || heads <= 0 || kvHeads <= 0 || heads % kvHeads != 0 || d * heads != q.cols()
                || k.cols() != kvHeads * d || !Arrays.equals(k.shape(), v.shape()) || k.rows() != q.rows()
                || q.rows() % batch != 0 || (seg != null && seg.numel() != q.rows()))
            throw shapes(op + " (batch " + batch + ", heads " + heads + "/" + kvHeads + ")", q, k, v);
        return d;
    }

    @Override
    public CrossEntropy cross_entropy(Tensor logits, Tensor targets, float gradScale) {
        need(logits, DType.F32, "cross_entropy logits");
        need(targets, DType.I32, "cross_entropy targets");
        if (targets.numel() != logits.rows()) throw shapes("cross_entropy", logits, targets);
        long[] count = new long[1];
        double loss = TrainNative.fabric_train_cross_entropy(logits.address(), targets.address(), logits.rows(),
                logits.cols(), gradScale, count, threads);
        return new CrossEntropy(loss, count[0]);
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
