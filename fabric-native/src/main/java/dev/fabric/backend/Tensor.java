package dev.fabric.backend;

import java.util.Arrays;

/**
 * A dense tensor in a backend's memory: element type, shape (row-major, outermost dimension first, so the last
 * dimension is a contiguous row: the reverse of ggml's ne[] order) and the address of its first element.
 * A tensor either owns its memory ({@link Backend#allocate}) or views memory owned elsewhere (a memory-mapped
 * GGUF file, a slice of another tensor); {@link #close()} frees only owned memory.
 */
public final class Tensor implements AutoCloseable {
    private final Backend backend;
    private final DType type;
    private final long[] shape;
    private final long address;
    private final boolean owned;
    private final Object keepAlive;
    private boolean closed;

    /**
     * For backends: a tensor over memory at {@code address}. {@code owned} memory is given back with
     * {@link Backend#free} on close; {@code keepAlive} is whatever must stay reachable while this tensor is used
     * (the file mapping or parent tensor it views).
     */
    public static Tensor of(Backend backend, DType type, long[] shape, long address, boolean owned, Object keepAlive) {
        return new Tensor(backend, type, shape, address, owned, keepAlive);
    }

    private Tensor(Backend backend, DType type, long[] shape, long address, boolean owned, Object keepAlive) {
        for (long d : shape) if (d < 0) throw new IllegalArgumentException("negative dimension " + Arrays.toString(shape));
        this.backend = backend;
        this.type = type;
        this.shape = shape.clone();
        this.address = address;
        this.owned = owned;
        this.keepAlive = keepAlive;
    }

    public Backend backend() {
        return backend;
    }

    public DType type() {
        return type;
    }

    public long[] shape() {
        return shape.clone();
    }

    public int rank() {
        return shape.length;
    }

    public long dim(int i) {
        return shape[i < 0 ? shape.length + i : i];
    }

    /** Elements in all. */
    public long numel() {
        long n = 1;
        for (long d : shape) n *= d;
        return n;
    }

    /** Length of the innermost dimension (one contiguous row). */
    public long cols() {
        return shape.length == 0 ? 1 : shape[shape.length - 1];
    }

    /** Rows: the product of all dimensions but the last. */
    public long rows() {
        long c = cols();
        return c == 0 ? 0 : numel() / c;
    }

    public long byteSize() {
        return type.bytesOf(numel());
    }

    /** Native address of the first element (backend-specific meaning for non-host backends). */
    public long address() {
        if (closed) throw new IllegalStateException("tensor is closed");
        return address;
    }

    /** The same memory seen with another shape of the same element count. */
    public Tensor reshape(long... newShape) {
        long n = 1;
        for (long d : newShape) n *= d;
        if (n != numel() || Arrays.stream(newShape).anyMatch(d -> d < 0))
            throw new IllegalArgumentException("reshape " + Arrays.toString(shape) + " -> " + Arrays.toString(newShape));
        return backend.view(this, 0, newShape);
    }

    /** Rows [from, to) along the outermost dimension, as a view. */
    public Tensor slice(long from, long to) {
        if (from < 0 || to > shape[0] || from > to)
            throw new IndexOutOfBoundsException("slice " + from + ".." + to + " of " + Arrays.toString(shape));
        long[] s = shape.clone();
        s[0] = to - from;
        long rowBytes = shape[0] == 0 ? 0 : byteSize() / shape[0];
        return backend.view(this, from * rowBytes, s);
    }

    Object keepAlive() {
        return keepAlive;
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        if (owned) backend.free(address);
    }

    @Override
    public String toString() {
        return type + Arrays.toString(shape);
    }
}
