package dev.fabric.quant;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Just enough of a GGUF v3 reader (spec section 1) for the parity tests: tensor infos and their F16/BF16/F32 data
 * as floats. Test-only stand-in until the engine's GGUF reader lands; metadata values are skipped.
 */
final class MiniGguf {
    record Tensor(String name, long[] ne, int type, long dataOffset) {
        long elements() {
            long n = 1;
            for (long d : ne) n *= d;
            return n;
        }
    }

    private final ByteBuffer buf;
    private final Map<String, Tensor> tensors = new LinkedHashMap<>();

    private MiniGguf(ByteBuffer buf) {
        this.buf = buf;
    }

    static MiniGguf open(Path path) throws IOException {
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            MiniGguf g = new MiniGguf(ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size()).order(ByteOrder.LITTLE_ENDIAN));
            g.parse();
            return g;
        }
    }

    Map<String, Tensor> tensors() {
        return tensors;
    }

    private void parse() {
        if (buf.getInt(0) != 0x46554747) throw new IllegalStateException("not a GGUF file");
        buf.position(8);
        long nTensors = buf.getLong();
        long nKv = buf.getLong();
        long alignment = 32;
        for (long i = 0; i < nKv; i++) {
            String key = string();
            int type = buf.getInt();
            if (key.equals("general.alignment")) alignment = Integer.toUnsignedLong(buf.getInt());
            else skipValue(type);
        }
        Map<String, long[]> raw = new LinkedHashMap<>();
        Map<String, Integer> types = new LinkedHashMap<>();
        for (long i = 0; i < nTensors; i++) {
            String name = string();
            int nd = buf.getInt();
            long[] ne = new long[nd];
            for (int d = 0; d < nd; d++) ne[d] = buf.getLong();
            types.put(name, buf.getInt());
            long off = buf.getLong();
            long[] r = new long[nd + 1];
            System.arraycopy(ne, 0, r, 0, nd);
            r[nd] = off;
            raw.put(name, r);
        }
        long dataStart = (buf.position() + alignment - 1) / alignment * alignment;
        raw.forEach((name, r) -> tensors.put(name, new Tensor(name, java.util.Arrays.copyOf(r, r.length - 1),
                types.get(name), dataStart + r[r.length - 1])));
    }

    private String string() {
        int n = Math.toIntExact(buf.getLong());
        byte[] b = new byte[n];
        buf.get(b);
        return new String(b, StandardCharsets.UTF_8);
    }

    private void skipValue(int type) {
        switch (type) {
            case 0, 1, 7 -> buf.position(buf.position() + 1);
            case 2, 3 -> buf.position(buf.position() + 2);
            case 4, 5, 6 -> buf.position(buf.position() + 4);
            case 10, 11, 12 -> buf.position(buf.position() + 8);
            case 8 -> string();
            case 9 -> {
                int et = buf.getInt();
                long n = buf.getLong();
                for (long i = 0; i < n; i++) skipValue(et);
            }
            default -> throw new IllegalStateException("bad GGUF value type " + type);
        }
    }

    /** The tensor's elements as floats, decoded exactly from F32 (0), F16 (1) or BF16 (30), in Java. */
    float[] floats(Tensor t) {
        int n = Math.toIntExact(t.elements());
        float[] out = new float[n];
        int base = Math.toIntExact(t.dataOffset());
        switch (t.type()) {
            case 0 -> { for (int i = 0; i < n; i++) out[i] = buf.getFloat(base + 4 * i); }
            case 1 -> { for (int i = 0; i < n; i++) out[i] = Float.float16ToFloat(buf.getShort(base + 2 * i)); }
            case 30 -> { for (int i = 0; i < n; i++) out[i] = Float.intBitsToFloat((buf.getShort(base + 2 * i) & 0xffff) << 16); }
            default -> throw new IllegalArgumentException(t.name() + ": type " + t.type() + " is not a float type");
        }
        return out;
    }
}
