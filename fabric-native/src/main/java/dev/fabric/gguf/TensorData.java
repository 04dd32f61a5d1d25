package dev.fabric.gguf;

import dev.fabric.backend.cpu.MmapNative;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Objects;

/**
 * The bytes of one tensor inside a memory-mapped GGUF file: a native address and a size, with no 2 GiB limit.
 * Valid only while its {@link GgufFile} is open: the mapping is released on close, after which {@link #slice}
 * refuses, and buffers taken earlier must not be touched (reading them would read unmapped memory).
 */
public final class TensorData {
    private final GgufFile file;
    private final GgufTensorInfo info;
    private final long address;
    private final long byteSize;

    TensorData(GgufFile file, GgufTensorInfo info, long address, long byteSize) {
        this.file = file;
        this.info = info;
        this.address = address;
        this.byteSize = byteSize;
    }

    public GgufTensorInfo info() {
        return info;
    }

    /** Native address of the first byte (0 for an empty tensor). */
    public long address() {
        file.checkOpen();
        return address;
    }

    public long byteSize() {
        return byteSize;
    }

    /** A read-only little-endian view of {@code length} bytes from {@code offset}, without copying. */
    public ByteBuffer slice(long offset, int length) {
        file.checkOpen();
        Objects.checkFromIndexSize(offset, length, byteSize);
        if (length == 0) return ByteBuffer.allocate(0).order(ByteOrder.LITTLE_ENDIAN);
        return MmapNative.window(address + offset, length).asByteBuffer().asReadOnlyBuffer()
                .order(ByteOrder.LITTLE_ENDIAN);
    }

    /** The whole tensor as one view; only for tensors below 2 GiB. */
    public ByteBuffer asByteBuffer() {
        if (byteSize > Integer.MAX_VALUE)
            throw new UnsupportedOperationException(info.name() + " has " + byteSize + " bytes: use slice()");
        return slice(0, (int) byteSize);
    }
}
