package dev.fabric.gguf;

import dev.fabric.backend.cpu.MmapNative;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A GGUF file (v2 or v3, little-endian; ggml docs/gguf.md) opened for reading: its metadata and tensor infos are
 * parsed up front with every count, length and offset validated, and its tensor data is memory-mapped read-only
 * (natively, so files and tensors above 2 GiB work) and handed out zero-copy as {@link TensorData}.
 *
 * <p>Checks beyond the byte layout: {@code general.alignment} must be a UINT32 power of two; keys and tensor names
 * must be unique; n_dims is 1..4 and every ne is >= 0 with an element count that fits 64 bits; ne0 is a multiple of
 * the type's block size; every tensor's data lies inside the file, is aligned, and overlaps no other tensor.
 * Tensor names of 64 bytes or more (llama.cpp's GGML_MAX_NAME limit) are accepted with a warning, so such files
 * can still be inspected and converted; {@link GgufWriter} refuses to write them. Data packed other than as
 * llama.cpp's running sum of padded sizes is accepted (see {@link #isPacked()}).
 */
public final class GgufFile implements AutoCloseable {
    public static final long DEFAULT_ALIGNMENT = 32;
    public static final String KEY_ALIGNMENT = "general.alignment";
    public static final int MAX_DIMS = 4;
    public static final int MAX_NAME_BYTES = 64;

    private final Path path;
    private final GgufParser.Result parsed;
    private final Map<String, GgufTensorInfo> byName;
    private long address;
    private final long mappedSize;
    private volatile boolean closed;

    private GgufFile(Path path, GgufParser.Result parsed, long address, long mappedSize) {
        this.path = path;
        this.parsed = parsed;
        this.address = address;
        this.mappedSize = mappedSize;
        Map<String, GgufTensorInfo> m = new HashMap<>();
        for (GgufTensorInfo t : parsed.tensors()) m.put(t.name(), t);
        this.byName = m;
    }

    /**
     * Opens and validates {@code path}. A file that is not valid GGUF throws {@link GgufFormatException} naming the
     * file, the fault and its byte offset; I/O failures throw {@link IOException}.
     */
    public static GgufFile open(Path path) throws IOException {
        String source = path.toString();
        // a FIFO would block the open until a writer comes, a device has no size; mmap needs a regular file anyway
        if (java.nio.file.Files.isDirectory(path))
            throw new GgufFormatException(source, "is a directory, not a GGUF file", -1);
        if (java.nio.file.Files.exists(path) && !java.nio.file.Files.isRegularFile(path))
            throw new GgufFormatException(source, "is not a regular file (a pipe or a device?); GGUF files are read "
                    + "from disk", -1);
        GgufParser.Result r;
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            r = GgufParser.parse(source, ch, ch.size());
        }
        long address = 0, size = 0;
        if (!r.tensors().isEmpty()) {
            MmapNative.load();
            long[] sizeOut = new long[1];
            int[] errOut = new int[1];
            byte[] p = nulTerminated(path);
            address = MmapNative.fabric_mmap_open(p, sizeOut, errOut);
            if (address == 0 && errOut[0] != 0)
                throw new IOException(source + ": cannot memory-map the file (errno " + errOut[0] + ")");
            size = sizeOut[0];
            if (size != r.fileSize()) {
                MmapNative.fabric_munmap(address, size);
                throw new GgufFormatException(source, "file changed size while being opened (" + r.fileSize()
                        + " then " + size + " bytes)", -1);
            }
        }
        return new GgufFile(path, r, address, size);
    }

    private static byte[] nulTerminated(Path path) {
        String enc = System.getProperty("sun.jnu.encoding", "UTF-8");
        byte[] b;
        try {
            b = path.toAbsolutePath().toString().getBytes(enc);
        } catch (java.io.UnsupportedEncodingException e) {
            b = path.toAbsolutePath().toString().getBytes(java.nio.charset.StandardCharsets.UTF_8);
        }
        byte[] z = new byte[b.length + 1];
        System.arraycopy(b, 0, z, 0, b.length);
        return z;
    }

    static long pad(long x, long alignment) {
        return Math.addExact(x, alignment - 1) & -alignment;
    }

    public Path path() {
        return path;
    }

    public int version() {
        return parsed.version();
    }

    public long alignment() {
        return parsed.alignment();
    }

    /** File offset of the data section (the end of the tensor infos, padded to the alignment). */
    public long dataOffset() {
        return parsed.dataOffset();
    }

    /** File offset just past the last tensor info (before the padding). */
    public long infosEnd() {
        return parsed.infosEnd();
    }

    public long fileSize() {
        return parsed.fileSize();
    }

    public GgufMetadata metadata() {
        return parsed.metadata();
    }

    /** Tensor infos in file order. */
    public List<GgufTensorInfo> tensors() {
        return parsed.tensors();
    }

    /** The tensor named {@code name}, or null. */
    public GgufTensorInfo tensor(String name) {
        return byName.get(name);
    }

    /** True if the data is laid out as llama.cpp writes and requires: offsets are the running sum of padded sizes. */
    public boolean isPacked() {
        long expect = 0;
        for (GgufTensorInfo t : parsed.tensors()) {
            if (t.offset() != expect) return false;
            expect = pad(expect + t.byteSize(), parsed.alignment());
        }
        return true;
    }

    /** A zero-copy view of {@code t}'s bytes (t must be one of this file's tensors). */
    public TensorData data(GgufTensorInfo t) {
        checkOpen();
        GgufTensorInfo own = byName.get(t.name());
        if (own == null || !own.equals(t))
            throw new IllegalArgumentException(t.name() + " is not a tensor of " + path);
        long size = t.byteSize();
        return new TensorData(this, t, size == 0 ? 0 : address + parsed.dataOffset() + t.offset(), size);
    }

    /** The data of the tensor named {@code name}; {@link GgufFormatException} if there is none. */
    public TensorData data(String name) {
        GgufTensorInfo t = tensor(name);
        if (t == null) throw new GgufFormatException(path.toString(), "no tensor named '" + name + "'", -1);
        return data(t);
    }

    /** Advises the kernel about how the tensor data will be read (MmapNative.MADV_*); a hint only. */
    public void advise(int advice) {
        checkOpen();
        MmapNative.fabric_madvise(address, mappedSize, advice);
    }

    void checkOpen() {
        if (closed) throw new IllegalStateException(path + " is closed");
    }

    /** Releases the mapping; views handed out earlier must not be used afterwards. */
    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        if (address != 0) MmapNative.fabric_munmap(address, mappedSize);
        address = 0;
    }

    @Override
    public String toString() {
        return "GGUF v" + version() + " " + path + " (" + metadata().size() + " keys, " + tensors().size()
                + " tensors)";
    }
}
