package dev.fabric.gguf;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.CharBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Parses the header, metadata and tensor infos of a GGUF file (v2/v3, little-endian) with buffered reads. Every
 * count and length is checked against the bytes left in the file before anything is allocated, and a heap budget
 * bounds the objects the metadata may create, so a hostile file ends in {@link GgufFormatException}, never in
 * OutOfMemoryError or a hang.
 */
final class GgufParser {
    private static final Logger LOG = LoggerFactory.getLogger(GgufParser.class);

    static final int MAGIC = 0x46554747; // "GGUF" read as a little-endian uint32
    /** Nesting limit for arrays of arrays (gguf.cpp refuses any nesting; we read a little, bounded). */
    static final int MAX_ARRAY_DEPTH = 8;
    /** The minimum bytes of one tensor info: name length, n_dims, one ne, type, offset. */
    private static final int MIN_TENSOR_INFO = 8 + 4 + 8 + 4 + 8;
    /** The minimum bytes of one key/value: key length, type, a one-byte value. */
    private static final int MIN_KV = 8 + 4 + 1;

    record Result(int version, long alignment, GgufMetadata metadata, List<GgufTensorInfo> tensors,
            long infosEnd, long dataOffset, long fileSize) {}

    private final String source;
    /** Positional reads of the file: FileChannel::read, or an in-memory image in tests. */
    interface Source {
        int read(ByteBuffer dst, long position) throws IOException;
    }

    private final Source ch;
    private final long fileSize;
    private final ByteBuffer buf = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
    private long bufStart; // file position of buf[0]
    private long heapBudget;
    private final CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
    private boolean warnedUtf8;

    private GgufParser(String source, Source ch, long fileSize, long heapBudget) {
        this.source = source;
        this.ch = ch;
        this.fileSize = fileSize;
        this.heapBudget = heapBudget;
        buf.limit(0);
    }

    /** Parses {@code ch} (positioned anywhere; reads from 0) of size {@code fileSize}. */
    static Result parse(String source, FileChannel ch, long fileSize) throws IOException {
        return parse(source, ch::read, fileSize, defaultHeapBudget());
    }

    static Result parse(String source, FileChannel ch, long fileSize, long heapBudget) throws IOException {
        return parse(source, ch::read, fileSize, heapBudget);
    }

    static Result parse(String source, Source in, long fileSize, long heapBudget) throws IOException {
        return new GgufParser(source, in, fileSize, heapBudget).run();
    }

    /** A quarter of the maximum heap (at least 64 MiB) for the objects the metadata creates. */
    static long defaultHeapBudget() {
        return Math.max(64L << 20, Runtime.getRuntime().maxMemory() / 4);
    }

    /** Parses an in-memory file image (tests and tools that already hold the bytes). */
    static Result parse(String source, byte[] image) throws IOException {
        return parse(source, (dst, pos) -> {
            if (pos >= image.length) return -1;
            int n = (int) Math.min(dst.remaining(), image.length - pos);
            dst.put(image, (int) pos, n);
            return n;
        }, image.length, defaultHeapBudget());
    }

    // ---- errors -------------------------------------------------------------------------------------------

    private GgufFormatException error(String what, long offset) {
        return new GgufFormatException(source, what, offset);
    }

    private long pos() {
        return bufStart + buf.position();
    }

    private long remaining() {
        return fileSize - pos();
    }

    private void charge(long bytes, String what) {
        heapBudget -= bytes;
        if (heapBudget < 0)
            throw error("metadata is too large to hold in memory (" + what + " exceeds the heap budget; "
                    + "raise -Xmx if the file is genuine)", pos());
    }

    // ---- buffered primitive reads --------------------------------------------------------------------------

    /** Makes {@code n} (<= buffer capacity) bytes available, or reports the truncation naming {@code what}. */
    private void need(int n, String what) throws IOException {
        if (buf.remaining() >= n) return;
        if (remaining() < n)
            throw error("file is truncated: " + what + " needs " + n + " bytes but only " + remaining()
                    + " remain of " + fileSize, pos());
        bufStart += buf.position();
        buf.compact();
        while (buf.position() < n) {
            int r = ch.read(buf, bufStart + buf.position());
            if (r <= 0) throw error("file shrank while being read: " + what, bufStart + buf.position());
        }
        buf.flip();
    }

    private int u8(String what) throws IOException {
        need(1, what);
        return buf.get() & 0xFF;
    }

    private int i32(String what) throws IOException {
        need(4, what);
        return buf.getInt();
    }

    private long i64(String what) throws IOException {
        need(8, what);
        return buf.getLong();
    }

    /** A uint64 count or length that must be at most {@code remaining() / unit} (so it can't fake a size). */
    private long count(String what, long unit) throws IOException {
        long at = pos();
        long n = i64(what);
        long room = remaining() / unit;
        if (n < 0 || n > room)
            throw error(what + " " + Long.toUnsignedString(n) + " is larger than the rest of the file allows ("
                    + remaining() + " bytes left, so at most " + room + ")", at);
        return n;
    }

    private void readFully(byte[] dst, int off, int len, String what) throws IOException {
        while (len > 0) {
            if (!buf.hasRemaining()) need(1, what);
            int k = Math.min(len, buf.remaining());
            buf.get(dst, off, k);
            off += k;
            len -= k;
        }
    }

    private String string(String what) throws IOException {
        long at = pos();
        long len = count("length of " + what, 1);
        if (len > Integer.MAX_VALUE - 16) throw error("length of " + what + " " + len + " is too large", at);
        charge(56 + 2 * len, what);
        if (len == 0) return "";
        byte[] b = new byte[(int) len];
        readFully(b, 0, b.length, what);
        return decode(b, at);
    }

    private String decode(byte[] b, long at) {
        boolean ascii = true;
        for (byte x : b) {
            if (x < 0) {
                ascii = false;
                break;
            }
        }
        if (ascii) return new String(b, StandardCharsets.ISO_8859_1);
        try {
            CharBuffer cb = utf8.reset().decode(ByteBuffer.wrap(b));
            return cb.toString();
        } catch (CharacterCodingException e) {
            if (!warnedUtf8) {
                warnedUtf8 = true;
                LOG.warn("{}: string at byte offset {} is not valid UTF-8; invalid bytes read as U+FFFD "
                        + "(writing this file back will not be byte-identical)", source, at);
            }
            return new String(b, StandardCharsets.UTF_8);
        }
    }

    // ---- the file -----------------------------------------------------------------------------------------

    private Result run() throws IOException {
        if (fileSize < 4) throw error("not a GGUF file: only " + fileSize + " bytes", 0);
        int magic = i32("magic");
        if (magic != MAGIC) {
            throw error("not a GGUF file: magic is " + printable(magic) + ", expected \"GGUF\"", 0);
        }
        int version = i32("version");
        if (version == 1)
            throw error("GGUF version 1 is not supported (it predates 64-bit counts; only versions 2 and 3 are)", 4);
        if (Integer.reverseBytes(version) == 2 || Integer.reverseBytes(version) == 3)
            throw error("big-endian GGUF (version " + Integer.reverseBytes(version)
                    + " written byte-swapped) is not supported; only little-endian files are", 4);
        if (version != 2 && version != 3)
            throw error("GGUF version " + Integer.toUnsignedString(version)
                    + " is not supported (only versions 2 and 3 are)", 4);

        long nTensorsAt = pos();
        long nTensors = i64("tensor count");
        long nKvAt = pos();
        long nKv = i64("metadata count");
        if (nTensors < 0 || nTensors > remaining() / MIN_TENSOR_INFO)
            throw error("tensor count " + Long.toUnsignedString(nTensors) + " is impossible: the " + remaining()
                    + " bytes left in the file hold at most " + remaining() / MIN_TENSOR_INFO + " tensor infos of "
                    + MIN_TENSOR_INFO + "+ bytes (truncated or corrupt)", nTensorsAt);
        if (nKv < 0 || nKv > (remaining() - nTensors * MIN_TENSOR_INFO) / MIN_KV)
            throw error("metadata count " + Long.toUnsignedString(nKv) + " is impossible: the " + remaining()
                    + " bytes left in the file (less the tensor infos) hold at most "
                    + Math.max(0, (remaining() - nTensors * MIN_TENSOR_INFO) / MIN_KV) + " entries of " + MIN_KV
                    + "+ bytes (truncated or corrupt)", nKvAt);

        LinkedHashMap<String, GgufValue> kv = new LinkedHashMap<>();
        for (long i = 0; i < nKv; i++) {
            long at = pos();
            String key = string("key of metadata entry #" + i);
            charge(96, "metadata entry #" + i);
            if (kv.containsKey(key)) throw error("duplicate metadata key '" + key + "'", at);
            long typeAt = pos();
            int typeId = i32("value type of '" + key + "'");
            GgufValueType type = GgufValueType.byIdOrNull(typeId);
            if (type == null)
                throw error("unknown value type " + Integer.toUnsignedString(typeId) + " for metadata key '" + key
                        + "'", typeAt);
            kv.put(key, value(type, key, 0));
        }
        GgufMetadata metadata = GgufMetadata.of(kv, source);

        long alignment = GgufFile.DEFAULT_ALIGNMENT;
        GgufValue al = kv.get(GgufFile.KEY_ALIGNMENT);
        if (al != null) {
            if (al.type() != GgufValueType.UINT32)
                throw error("metadata key '" + GgufFile.KEY_ALIGNMENT + "' is " + al.type() + ", expected UINT32", -1);
            alignment = al.asLong();
            if (alignment == 0 || Long.bitCount(alignment) != 1)
                throw error("metadata key '" + GgufFile.KEY_ALIGNMENT + "' = " + alignment
                        + " is not a power of two", -1);
        }

        List<GgufTensorInfo> tensors = new ArrayList<>((int) Math.min(nTensors, 1 << 16));
        Set<String> names = new HashSet<>();
        for (long i = 0; i < nTensors; i++) tensors.add(tensorInfo(i, names));
        long infosEnd = pos();

        long dataOffset = GgufFile.pad(infosEnd, alignment);
        checkLayout(tensors, dataOffset, alignment);
        return new Result(version, alignment, metadata, List.copyOf(tensors), infosEnd, dataOffset, fileSize);
    }

    private static String printable(int magic) {
        StringBuilder b = new StringBuilder("\"");
        for (int i = 0; i < 4; i++) {
            int c = (magic >>> (8 * i)) & 0xFF;
            if (c >= 0x20 && c < 0x7F) b.append((char) c);
            else b.append(String.format("\\x%02x", c));
        }
        return b.append('"').toString();
    }

    private GgufValue value(GgufValueType type, String key, int depth) throws IOException {
        String what = "value of '" + key + "'";
        return switch (type) {
            case UINT8, INT8 -> new GgufValue(type, (byte) u8(what));
            case UINT16, INT16 -> {
                need(2, what);
                yield new GgufValue(type, buf.getShort());
            }
            case UINT32, INT32 -> new GgufValue(type, i32(what));
            case UINT64, INT64 -> new GgufValue(type, i64(what));
            case FLOAT32 -> {
                need(4, what);
                yield new GgufValue(type, buf.getFloat());
            }
            case FLOAT64 -> {
                need(8, what);
                yield new GgufValue(type, buf.getDouble());
            }
            case BOOL -> new GgufValue(type, bool(what));
            case STRING -> new GgufValue(type, string(what));
            case ARRAY -> new GgufValue(type, array(key, depth));
        };
    }

    private boolean bool(String what) throws IOException {
        long at = pos();
        int b = u8(what);
        if (b > 1) throw error(what + " is a BOOL byte " + b + ", expected 0 or 1", at);
        return b == 1;
    }

    private GgufArray array(String key, int depth) throws IOException {
        long at = pos();
        if (depth >= MAX_ARRAY_DEPTH)
            throw error("arrays in '" + key + "' are nested deeper than " + MAX_ARRAY_DEPTH, at);
        int typeId = i32("array element type of '" + key + "'");
        GgufValueType et = GgufValueType.byIdOrNull(typeId);
        if (et == null)
            throw error("unknown array element type " + Integer.toUnsignedString(typeId) + " in metadata key '"
                    + key + "'", at);
        String what = "array count of '" + key + "'";
        long n = count(what, et.minSize());
        if (n > Integer.MAX_VALUE - 16) throw error(what + " " + n + " is too large", at + 4);
        int len = (int) n;
        String ew = "element of array '" + key + "'";
        charge(16 + n * Math.max(et.fixedSize(), 8), "array '" + key + "'");
        Object values = switch (et) {
            case UINT8, INT8 -> {
                byte[] a = new byte[len];
                readFully(a, 0, len, ew);
                yield a;
            }
            case UINT16, INT16 -> {
                short[] a = new short[len];
                for (int i = 0; i < len; i++) {
                    need(2, ew);
                    a[i] = buf.getShort();
                }
                yield a;
            }
            case UINT32, INT32 -> {
                int[] a = new int[len];
                for (int i = 0; i < len; i++) a[i] = i32(ew);
                yield a;
            }
            case UINT64, INT64 -> {
                long[] a = new long[len];
                for (int i = 0; i < len; i++) a[i] = i64(ew);
                yield a;
            }
            case FLOAT32 -> {
                float[] a = new float[len];
                for (int i = 0; i < len; i++) {
                    need(4, ew);
                    a[i] = buf.getFloat();
                }
                yield a;
            }
            case FLOAT64 -> {
                double[] a = new double[len];
                for (int i = 0; i < len; i++) {
                    need(8, ew);
                    a[i] = buf.getDouble();
                }
                yield a;
            }
            case BOOL -> {
                boolean[] a = new boolean[len];
                for (int i = 0; i < len; i++) a[i] = bool(ew);
                yield a;
            }
            case STRING -> {
                String[] a = new String[len];
                for (int i = 0; i < len; i++) a[i] = string(ew);
                yield a;
            }
            case ARRAY -> {
                GgufArray[] a = new GgufArray[len];
                for (int i = 0; i < len; i++) {
                    charge(32, ew);
                    a[i] = array(key, depth + 1);
                }
                yield a;
            }
        };
        return GgufArray.wrap(et, values);
    }

    private GgufTensorInfo tensorInfo(long i, Set<String> names) throws IOException {
        long at = pos();
        String name = string("name of tensor #" + i);
        charge(160, "tensor #" + i);
        if (!names.add(name)) throw error("duplicate tensor name '" + name + "'", at);
        if (name.getBytes(StandardCharsets.UTF_8).length >= GgufFile.MAX_NAME_BYTES)
            LOG.warn("{}: tensor name '{}' has {} bytes; llama.cpp refuses names of {} bytes or more", source, name,
                    name.getBytes(StandardCharsets.UTF_8).length, GgufFile.MAX_NAME_BYTES);
        long dimsAt = pos();
        int nDims = i32("n_dims of tensor '" + name + "'");
        if (nDims < 1 || nDims > GgufFile.MAX_DIMS)
            throw error("tensor '" + name + "' has n_dims " + Integer.toUnsignedString(nDims) + ", expected 1.."
                    + GgufFile.MAX_DIMS, dimsAt);
        long[] shape = new long[nDims];
        long elements = 1;
        for (int d = 0; d < nDims; d++) {
            long neAt = pos();
            shape[d] = i64("ne[" + d + "] of tensor '" + name + "'");
            if (shape[d] < 0)
                throw error("tensor '" + name + "' has a negative dimension ne[" + d + "] = " + shape[d], neAt);
            try {
                elements = Math.multiplyExact(elements, shape[d]);
            } catch (ArithmeticException e) {
                throw error("tensor '" + name + "' has more elements than fit in 64 bits (ne[" + d + "] = "
                        + shape[d] + ")", neAt);
            }
        }
        long typeAt = pos();
        int typeId = i32("type of tensor '" + name + "'");
        GgmlType type;
        try {
            type = GgmlType.byId(typeId);
        } catch (IllegalArgumentException e) {
            throw error("tensor '" + name + "': " + e.getMessage(), typeAt);
        }
        if (shape[0] % type.blockSize() != 0)
            throw error("tensor '" + name + "' of type " + type + " has ne[0] = " + shape[0]
                    + ", not a multiple of the block size " + type.blockSize(), dimsAt + 4);
        long offAt = pos();
        long offset = i64("data offset of tensor '" + name + "'");
        if (offset < 0)
            throw error("tensor '" + name + "' has data offset " + Long.toUnsignedString(offset)
                    + ", beyond any file", offAt);
        try {
            type.byteSize(shape);
        } catch (ArithmeticException e) {
            throw error("tensor '" + name + "' has more bytes than fit in 64 bits", dimsAt);
        }
        return new GgufTensorInfo(name, shape, type, offset);
    }

    /** Each tensor aligned, inside the file, and not overlapping another (llama.cpp additionally wants them packed). */
    private void checkLayout(List<GgufTensorInfo> tensors, long dataOffset, long alignment) {
        if (tensors.isEmpty()) return;
        if (dataOffset > fileSize)
            throw error("file is truncated: the data section would start at " + dataOffset + " but the file has "
                    + fileSize + " bytes", fileSize);
        long dataSize = fileSize - dataOffset;
        Integer[] order = new Integer[tensors.size()];
        for (int i = 0; i < order.length; i++) {
            GgufTensorInfo t = tensors.get(i);
            order[i] = i;
            if (t.offset() % alignment != 0)
                throw error("tensor '" + t.name() + "' data offset " + t.offset() + " is not a multiple of the "
                        + "alignment " + alignment, -1);
            long size = t.byteSize();
            if (t.offset() > dataSize || size > dataSize - t.offset())
                throw error("tensor '" + t.name() + "' data [" + t.offset() + ", " + t.offset() + "+" + size
                        + ") relative to the data section at " + dataOffset + " runs past the end of the file ("
                        + fileSize + " bytes)", -1);
        }
        java.util.Arrays.sort(order, (a, b) -> Long.compare(tensors.get(a).offset(), tensors.get(b).offset()));
        GgufTensorInfo prev = null;
        for (Integer idx : order) {
            GgufTensorInfo t = tensors.get(idx);
            if (t.byteSize() == 0) continue;
            if (prev != null && t.offset() < prev.offset() + prev.byteSize())
                throw error("tensors '" + prev.name() + "' and '" + t.name() + "' overlap: data offsets "
                        + prev.offset() + "+" + prev.byteSize() + " and " + t.offset(), -1);
            prev = t;
        }
    }
}
