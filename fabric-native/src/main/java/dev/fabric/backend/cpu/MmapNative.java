package dev.fabric.backend.cpu;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.Platform;

/**
 * JNI surface of {@code fabric_mmap.h}: read-only whole-file mappings with no 2 GiB limit (Java 21's
 * {@code FileChannel.map} is limited to one {@code int}-sized buffer per mapping), plus {@link #window} to see a
 * part of a mapping as a {@link java.nio.ByteBuffer} without copying.
 */
@Platform(include = {"fabric_mmap.h", "fabric_mmap.cpp"})
public final class MmapNative {
    static {
        Loader.load();
    }

    public static final int MADV_NORMAL = 0, MADV_SEQUENTIAL = 1, MADV_RANDOM = 2, MADV_WILLNEED = 3,
            MADV_DONTNEED = 4;

    private MmapNative() {}

    /** Ensures the native library is loaded; call before allocating any JavaCPP pointer. */
    public static void load() {
        // the static initialiser does the work
    }

    public static native long fabric_mmap_open(@Cast("const char*") byte[] path, @Cast("int64_t*") long[] sizeOut,
            @Cast("int32_t*") int[] errOut);

    public static native int fabric_munmap(long address, long size);

    public static native int fabric_madvise(long address, long size, int advice);

    public static native long fabric_page_size();

    /**
     * A pointer to {@code length} bytes at {@code address} that owns nothing (no deallocator): its
     * {@code asByteBuffer()} is a direct buffer over that memory. The caller keeps the memory alive.
     */
    public static BytePointer window(long address, long length) {
        if (address == 0 || length < 0) throw new IllegalArgumentException("bad window " + address + "+" + length);
        return new Window(address, length);
    }

    /** The native address of a direct buffer's first byte (position 0). */
    public static long addressOf(java.nio.Buffer direct) {
        if (!direct.isDirect()) throw new IllegalArgumentException("not a direct buffer");
        return Window.directAddress(direct);
    }

    private static final class Window extends BytePointer {
        Window(long address, long length) {
            super((Pointer) null);
            this.address = address;
            this.position = 0;
            this.limit = length;
            this.capacity = length;
        }

        static long directAddress(java.nio.Buffer b) {
            return getDirectBufferAddress(b);
        }
    }
}
