package dev.fabric.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fabric.FabricException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Hugging Face's safetensors container: an 8-byte little-endian header length N, N bytes of JSON (each tensor's
 * {@code dtype}, row-major {@code shape} and {@code data_offsets} [begin, end) relative to the data that follows the
 * header, plus an optional {@code __metadata__} map of strings), then the little-endian tensor bytes. We write F32
 * tensors back to back in the order given (offsets contiguous) and pad the JSON with spaces to a multiple of 8 bytes
 * (allowed by the format, and it keeps the data 8-byte aligned); we read F32, F16 and BF16.
 */
public final class SafeTensors {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long MAX_HEADER = 100L << 20;

    private SafeTensors() {}

    /** An F32 tensor: a row-major shape and its values (read from index 0, position ignored). */
    public record Entry(long[] shape, FloatBuffer data) {
        public Entry {
            shape = shape.clone();
            long n = 1;
            for (long d : shape) n *= d;
            if (n != data.capacity())
                throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " has " + n + " elements, data "
                        + data.capacity());
        }

        @Override
        public long[] shape() {
            return shape.clone();
        }
    }

    /** Writes the tensors (in map order) and the metadata atomically to {@code file}. */
    public static void write(Path file, Map<String, Entry> tensors, Map<String, String> metadata) throws IOException {
        ObjectNode h = JSON.createObjectNode();
        if (metadata != null && !metadata.isEmpty()) {
            ObjectNode m = h.putObject("__metadata__");
            metadata.forEach(m::put);
        }
        long off = 0;
        for (Map.Entry<String, Entry> e : tensors.entrySet()) {
            if (e.getKey().equals("__metadata__")) throw new IllegalArgumentException("reserved tensor name");
            ObjectNode t = h.putObject(e.getKey());
            t.put("dtype", "F32");
            ArrayNode s = t.putArray("shape");
            for (long d : e.getValue().shape()) s.add(d);
            long end = off + 4L * e.getValue().data().capacity();
            t.putArray("data_offsets").add(off).add(end);
            off = end;
        }
        byte[] json = JSON.writeValueAsBytes(h);
        int padded = (json.length + 7) & ~7;
        ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        head.putLong(padded).put(json);
        while (head.hasRemaining()) head.put((byte) ' ');
        head.flip();
        AtomicFiles.write(file, ch -> {
            AtomicFiles.writeFully(ch, head);
            ByteBuffer buf = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
            for (Entry t : tensors.values()) {
                FloatBuffer d = t.data();
                for (int i = 0, n = d.capacity(); i < n; i++) {
                    if (buf.remaining() < 4) {
                        buf.flip();
                        AtomicFiles.writeFully(ch, buf);
                        buf.clear();
                    }
                    buf.putFloat(d.get(i));
                }
            }
            buf.flip();
            AtomicFiles.writeFully(ch, buf);
        });
    }

    /** A file's tensors (as F32, widened exactly from F16/BF16) in file order, and its metadata. */
    public record Contents(Map<String, Entry> tensors, Map<String, String> metadata) {}

    public static Contents read(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < 8) throw bad(file, "shorter than its 8-byte header length");
            ByteBuffer lenBuf = readAt(ch, 0, 8);
            long n = lenBuf.getLong();
            if (n < 2 || n > MAX_HEADER || 8 + n > size)
                throw bad(file, "header length " + n + " does not fit a file of " + size + " bytes");
            ByteBuffer hb = readAt(ch, 8, (int) n);
            byte[] hbytes = new byte[(int) n];
            hb.get(hbytes);
            JsonNode h;
            try {
                h = JSON.readTree(new String(hbytes, StandardCharsets.UTF_8));
            } catch (IOException e) {
                throw bad(file, "header is not JSON: " + e.getMessage());
            }
            if (h == null || !h.isObject()) throw bad(file, "header is not a JSON object");
            long dataStart = 8 + n, dataLen = size - dataStart;
            Map<String, String> meta = new LinkedHashMap<>();
            record Raw(String name, String dtype, long[] shape, long begin, long end) {}
            List<Raw> raws = new ArrayList<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = h.fields(); it.hasNext();) {
                Map.Entry<String, JsonNode> e = it.next();
                if (e.getKey().equals("__metadata__")) {
                    e.getValue().fields().forEachRemaining(m -> meta.put(m.getKey(), m.getValue().asText()));
                    continue;
                }
                JsonNode t = e.getValue();
                String where = "tensor '" + e.getKey() + "'";
                String dtype = t.path("dtype").asText("");
                int es = switch (dtype) {
                    case "F32" -> 4;
                    case "F16", "BF16" -> 2;
                    default -> throw bad(file, where + ": dtype '" + dtype + "' (F32, F16 or BF16 expected)");
                };
                JsonNode sh = t.path("shape"), off = t.path("data_offsets");
                if (!sh.isArray() || !off.isArray() || off.size() != 2)
                    throw bad(file, where + ": needs a shape array and two data_offsets");
                long[] shape = new long[sh.size()];
                long count = 1;
                for (int i = 0; i < shape.length; i++) {
                    shape[i] = sh.get(i).asLong(-1);
                    if (shape[i] < 0) throw bad(file, where + ": negative shape");
                    count = Math.multiplyExact(count, shape[i]);
                }
                long b = off.get(0).asLong(-1), en = off.get(1).asLong(-1);
                if (b < 0 || en < b || en > dataLen || en - b != count * es)
                    throw bad(file, where + ": data_offsets [" + b + ", " + en + "] do not hold " + count + " " + dtype
                            + " values within " + dataLen + " data bytes");
                raws.add(new Raw(e.getKey(), dtype, shape, b, en));
            }
            Map<String, Entry> out = new LinkedHashMap<>();
            for (Raw r : raws) {
                int count = Math.toIntExact((r.end - r.begin) / (r.dtype.equals("F32") ? 4 : 2));
                ByteBuffer src = readAt(ch, dataStart + r.begin, Math.toIntExact(r.end - r.begin));
                FloatBuffer dst = ByteBuffer.allocateDirect(4 * count).order(ByteOrder.nativeOrder()).asFloatBuffer();
                for (int i = 0; i < count; i++) {
                    float v = switch (r.dtype) {
                        case "F32" -> src.getFloat();
                        case "F16" -> Float.float16ToFloat(src.getShort());
                        default -> Float.intBitsToFloat((src.getShort() & 0xffff) << 16);
                    };
                    dst.put(i, v);
                }
                out.put(r.name, new Entry(r.shape, dst));
            }
            return new Contents(out, meta);
        } catch (NoSuchFileException e) {
            throw new FabricException(file + ": no such file", FabricException.EXIT_IO, e);
        }
    }

    private static ByteBuffer readAt(FileChannel ch, long pos, int len) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(len).order(ByteOrder.LITTLE_ENDIAN);
        while (b.hasRemaining()) {
            if (ch.read(b, pos + b.position()) < 0) throw new IOException("unexpected end of file");
        }
        return b.flip();
    }

    private static FabricException bad(Path file, String what) {
        return new FabricException(file + ": not a valid safetensors file: " + what);
    }
}
