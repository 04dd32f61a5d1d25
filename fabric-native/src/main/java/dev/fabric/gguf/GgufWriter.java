package dev.fabric.gguf;

import dev.fabric.FabricException;
import dev.fabric.backend.cpu.MmapNative;
import dev.fabric.io.SafeOutput;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Writes a GGUF v3 file in one streaming pass: {@link #create} writes the header, the metadata and the tensor infos
 * (offsets are the running sum of the tensor sizes padded to the alignment, as llama.cpp requires), then the caller
 * hands over each tensor's bytes in order with {@code writeTensor}, and {@link #finish} commits the {@link SafeOutput}
 * (sync, atomic rename onto the target). {@link #close} without {@code finish} deletes the temporary file, so a failed
 * run never leaves a partial output behind.
 *
 * <p>Layout (ggml docs/gguf.md): zero bytes pad the tensor infos to the alignment, and every tensor's data, the last
 * one included. A file with no tensors ends right after its metadata (as gguf-py writes vocabulary files). Each
 * tensor's n_dims is the length of its shape as given.
 */
public final class GgufWriter implements AutoCloseable {
    private static final int CHUNK = 1 << 30;

    private final SafeOutput out;
    private final FileChannel ch;
    private final List<TensorSpec> tensors;
    private final long[] offsets;
    private final long alignment;
    private final long dataOffset;
    private int next;
    private boolean done;

    private GgufWriter(SafeOutput out, List<TensorSpec> tensors, long[] offsets, long alignment, long dataOffset) {
        this.out = out;
        this.ch = out.channel();
        this.tensors = tensors;
        this.offsets = offsets;
        this.alignment = alignment;
        this.dataOffset = dataOffset;
    }

    /**
     * Starts writing {@code out}. {@code alignment} must be a power of two; if {@code meta} has
     * {@code general.alignment} it must be that UINT32 value, and if it has none and {@code alignment} is not the
     * default 32, the key is appended. Tensor names must be unique and shorter than 64 bytes (llama.cpp's limit).
     */
    public static GgufWriter create(Path out, GgufMetadata meta, List<TensorSpec> tensors, int alignment)
            throws IOException {
        return create(out, List.of(), meta, tensors, alignment);
    }

    /**
     * As {@link #create(Path, GgufMetadata, List, int)}, refusing an {@code out} that is one of {@code inputs} (see
     * {@link SafeOutput} for the rules on the output path).
     */
    public static GgufWriter create(Path out, Collection<Path> inputs, GgufMetadata meta, List<TensorSpec> tensors,
            int alignment) throws IOException {
        if (alignment <= 0 || Integer.bitCount(alignment) != 1)
            throw new IllegalArgumentException("alignment " + alignment + " is not a power of two");
        GgufValue al = meta.get(GgufFile.KEY_ALIGNMENT);
        if (al != null && (al.type() != GgufValueType.UINT32 || al.asLong() != alignment))
            throw new IllegalArgumentException("metadata has " + GgufFile.KEY_ALIGNMENT + " = " + al
                    + " but the alignment to write is " + alignment);
        if (al == null && alignment != GgufFile.DEFAULT_ALIGNMENT)
            meta = meta.toBuilder().putU32(GgufFile.KEY_ALIGNMENT, alignment).build();
        tensors = List.copyOf(tensors);
        Set<String> names = new HashSet<>();
        long[] offsets = new long[tensors.size()];
        long off = 0;
        for (int i = 0; i < tensors.size(); i++) {
            TensorSpec t = tensors.get(i);
            if (!names.add(t.name()))
                throw new GgufFormatException(out.toString(), "duplicate tensor name '" + t.name() + "'", -1);
            int nameBytes = t.name().getBytes(StandardCharsets.UTF_8).length;
            if (nameBytes >= GgufFile.MAX_NAME_BYTES)
                throw new GgufFormatException(out.toString(), "tensor name '" + t.name() + "' has " + nameBytes
                        + " bytes; llama.cpp refuses names of " + GgufFile.MAX_NAME_BYTES + " bytes or more", -1);
            offsets[i] = off;
            off = GgufFile.pad(Math.addExact(off, t.byteSize()), alignment);
        }

        SafeOutput so = SafeOutput.create(out, inputs);
        try {
            Sink s = new Sink(so.channel());
            s.u32(GgufParser.MAGIC);
            s.u32(3);
            s.u64(tensors.size());
            s.u64(meta.size());
            for (Map.Entry<String, GgufValue> e : meta.asMap().entrySet()) {
                s.string(e.getKey());
                s.u32(e.getValue().type().id());
                s.value(e.getValue());
            }
            for (int i = 0; i < tensors.size(); i++) {
                TensorSpec t = tensors.get(i);
                s.string(t.name());
                long[] shape = t.shape();
                s.u32(shape.length);
                for (long d : shape) s.u64(d);
                s.u32(t.type().id());
                s.u64(offsets[i]);
            }
            long dataOffset = s.written();
            if (!tensors.isEmpty()) {
                dataOffset = GgufFile.pad(dataOffset, alignment);
                s.zeros(dataOffset - s.written());
            }
            s.flush();
            return new GgufWriter(so, tensors, offsets, alignment, dataOffset);
        } catch (IOException e) {
            throw so.failure(e);
        } catch (RuntimeException e) {
            so.close();
            throw e;
        }
    }

    public List<TensorSpec> tensors() {
        return tensors;
    }

    /** Offset of tensor {@code index} relative to the data section. */
    public long offsetOf(int index) {
        return offsets[index];
    }

    /** File offset of the data section. */
    public long dataOffset() {
        return dataOffset;
    }

    private TensorSpec expect(int index, long size) {
        if (done) throw new IllegalStateException("writer is finished or closed");
        if (index != next)
            throw new IllegalStateException("tensors must be written in order: expected #" + next + ", got #" + index);
        TensorSpec t = tensors.get(index);
        if (size != t.byteSize())
            throw new IllegalArgumentException(t.name() + " needs " + t.byteSize() + " bytes, got " + size);
        return t;
    }

    /** Writes tensor {@code index} from {@code data}'s remaining bytes (its position is not moved). */
    public void writeTensor(int index, ByteBuffer data) throws IOException {
        expect(index, data.remaining());
        writeAll(data.duplicate());
        pad(index);
    }

    /** Writes tensor {@code index} from native memory ({@code size} bytes at {@code address}). */
    public void writeTensor(int index, long address, long size) throws IOException {
        expect(index, size);
        for (long off = 0; off < size; off += CHUNK) {
            int n = (int) Math.min(CHUNK, size - off);
            writeAll(MmapNative.window(address + off, n).asByteBuffer());
        }
        pad(index);
    }

    /** Writes tensor {@code index} from another file's tensor data (same byte size). */
    public void writeTensor(int index, TensorData data) throws IOException {
        if (data.byteSize() == 0) {
            expect(index, 0);
            pad(index);
        } else {
            writeTensor(index, data.address(), data.byteSize());
        }
    }

    private void writeAll(ByteBuffer b) throws IOException {
        while (b.hasRemaining()) ch.write(b);
    }

    private void pad(int index) throws IOException {
        long size = tensors.get(index).byteSize();
        long padding = GgufFile.pad(size, alignment) - size;
        if (padding > 0) writeAll(ByteBuffer.allocate((int) padding));
        next++;
    }

    /** Checks that every tensor was written, syncs the file and renames it into place. */
    public void finish() throws IOException {
        if (done) throw new IllegalStateException("writer is finished or closed");
        if (next != tensors.size())
            throw new IllegalStateException("only " + next + " of " + tensors.size() + " tensors were written");
        long expected = tensors.isEmpty() ? dataOffset
                : dataOffset + offsets[tensors.size() - 1]
                        + GgufFile.pad(tensors.get(tensors.size() - 1).byteSize(), alignment);
        if (ch.position() != expected)
            throw new IllegalStateException("wrote " + ch.position() + " bytes, expected " + expected);
        done = true;
        out.commit();
    }

    /** The exit-code-4 error naming the target for an I/O failure while writing; deletes the temporary. */
    public FabricException failure(IOException e) {
        done = true;
        return out.failure(e);
    }

    /** Abandons an unfinished file (deleting the temporary); after {@link #finish} does nothing. */
    @Override
    public void close() throws IOException {
        done = true;
        out.close();
    }

    /** Buffered little-endian encoder of the header, metadata and tensor infos. */
    private static final class Sink {
        private final FileChannel ch;
        private final ByteBuffer buf = ByteBuffer.allocate(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
        private long flushed;

        Sink(FileChannel ch) {
            this.ch = ch;
        }

        long written() {
            return flushed + buf.position();
        }

        private void room(int n) throws IOException {
            if (buf.remaining() < n) flush();
        }

        void flush() throws IOException {
            buf.flip();
            while (buf.hasRemaining()) flushed += ch.write(buf);
            buf.clear();
        }

        void u8(int v) throws IOException {
            room(1);
            buf.put((byte) v);
        }

        void u16(short v) throws IOException {
            room(2);
            buf.putShort(v);
        }

        void u32(int v) throws IOException {
            room(4);
            buf.putInt(v);
        }

        void u64(long v) throws IOException {
            room(8);
            buf.putLong(v);
        }

        void bytes(byte[] b) throws IOException {
            int off = 0;
            while (off < b.length) {
                room(1);
                int n = Math.min(buf.remaining(), b.length - off);
                buf.put(b, off, n);
                off += n;
            }
        }

        void zeros(long n) throws IOException {
            for (long i = 0; i < n; i++) u8(0);
        }

        void string(String s) throws IOException {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            u64(b.length);
            bytes(b);
        }

        void value(GgufValue v) throws IOException {
            Object o = v.value();
            switch (v.type()) {
                case UINT8, INT8 -> u8((Byte) o);
                case UINT16, INT16 -> u16((Short) o);
                case UINT32, INT32 -> u32((Integer) o);
                case UINT64, INT64 -> u64((Long) o);
                case FLOAT32 -> u32(Float.floatToRawIntBits((Float) o));
                case FLOAT64 -> u64(Double.doubleToRawLongBits((Double) o));
                case BOOL -> u8((Boolean) o ? 1 : 0);
                case STRING -> string((String) o);
                case ARRAY -> array((GgufArray) o);
            }
        }

        void array(GgufArray a) throws IOException {
            u32(a.elementType().id());
            u64(a.size());
            switch (a.raw()) {
                case byte[] x -> bytes(x);
                case short[] x -> {
                    for (short e : x) u16(e);
                }
                case int[] x -> {
                    for (int e : x) u32(e);
                }
                case long[] x -> {
                    for (long e : x) u64(e);
                }
                case float[] x -> {
                    for (float e : x) u32(Float.floatToRawIntBits(e));
                }
                case double[] x -> {
                    for (double e : x) u64(Double.doubleToRawLongBits(e));
                }
                case boolean[] x -> {
                    for (boolean e : x) u8(e ? 1 : 0);
                }
                case String[] x -> {
                    for (String e : x) string(e);
                }
                case GgufArray[] x -> {
                    for (GgufArray e : x) array(e);
                }
                default -> throw new IllegalStateException("bad array holder " + a.raw().getClass());
            }
        }
    }
}
