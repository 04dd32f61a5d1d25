package dev.fabric.e2e.hostile;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A GGUF file as an editable description (metadata entries and tensors with their bytes) and a byte encoder written
 * from the format description, independent of the project's writer: it validates nothing, so any value, count or
 * offset can be written, and it records the offset of every header field it writes so that tests can overwrite
 * exactly that field afterwards.
 */
final class RawGguf {
    // GGUF metadata value type ids (ggml docs/gguf.md)
    static final int U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, BOOL = 7, STRING = 8, ARRAY = 9,
            U64 = 10, I64 = 11, F64 = 12;
    // ggml tensor type ids
    static final int T_F32 = 0, T_F16 = 1, T_I32 = 26;

    /** A metadata value: a scalar of {@code type} or an array of {@code elemType}. */
    record Value(int type, int elemType, Object value) {
        static Value u32(long v) {
            return new Value(U32, -1, v);
        }

        static Value i32(long v) {
            return new Value(I32, -1, v);
        }

        static Value f32(float v) {
            return new Value(F32, -1, v);
        }

        static Value str(String v) {
            return new Value(STRING, -1, v);
        }

        static Value bool(boolean v) {
            return new Value(BOOL, -1, v);
        }

        static Value strings(List<String> v) {
            return new Value(ARRAY, STRING, List.copyOf(v));
        }

        static Value ints(List<Long> v) {
            return new Value(ARRAY, I32, List.copyOf(v));
        }
    }

    /** A tensor: ne in GGUF order, ggml type id, its bytes; {@code offset} null = packed after the previous one. */
    record Tensor(String name, long[] ne, int type, byte[] data, Long offset) {
        Tensor withNe(long... n) {
            return new Tensor(name, n, type, data, offset);
        }
    }

    /** One header field written: where, how wide, and what kind (to choose mutations). */
    record Field(String name, int offset, int width, String kind) {}

    final LinkedHashMap<String, Value> metadata = new LinkedHashMap<>();
    final List<Tensor> tensors = new ArrayList<>();
    int version = 3;
    int alignment = 32;

    RawGguf copy() {
        RawGguf c = new RawGguf();
        c.metadata.putAll(metadata);
        c.tensors.addAll(tensors);
        c.version = version;
        c.alignment = alignment;
        return c;
    }

    int tensorIndex(String name) {
        for (int i = 0; i < tensors.size(); i++) if (tensors.get(i).name().equals(name)) return i;
        throw new IllegalArgumentException("no tensor " + name);
    }

    /** The encoded file; {@code fields} (if not null) receives every header field written. */
    byte[] encode(List<Field> fields) {
        Out o = new Out(fields);
        o.mark("magic", 4, "magic").raw("GGUF".getBytes(StandardCharsets.US_ASCII));
        o.mark("version", 4, "u32").u32(version);
        o.mark("tensor_count", 8, "count").u64(tensors.size());
        o.mark("metadata_count", 8, "count").u64(metadata.size());
        for (Map.Entry<String, Value> e : metadata.entrySet()) {
            String k = e.getKey();
            o.mark("key length of " + k, 8, "length").string(k);
            Value v = e.getValue();
            o.mark("type of " + k, 4, "type").u32(v.type());
            value(o, k, v.type(), v.elemType(), v.value());
        }
        long[] offsets = new long[tensors.size()];
        long next = 0;
        for (int i = 0; i < tensors.size(); i++) {
            Tensor t = tensors.get(i);
            offsets[i] = t.offset() != null ? t.offset() : next;
            next = pad(Math.max(next, offsets[i] + t.data().length), alignment);
        }
        for (int i = 0; i < tensors.size(); i++) {
            Tensor t = tensors.get(i);
            o.mark("name length of tensor " + t.name(), 8, "length").string(t.name());
            o.mark("n_dims of tensor " + t.name(), 4, "u32").u32(t.ne().length);
            for (int d = 0; d < t.ne().length; d++) o.mark("ne[" + d + "] of tensor " + t.name(), 8, "dim").u64(t.ne()[d]);
            o.mark("type of tensor " + t.name(), 4, "ggml_type").u32(t.type());
            o.mark("offset of tensor " + t.name(), 8, "offset").u64(offsets[i]);
        }
        while (o.b.size() % alignment != 0) o.b.write(0);
        int base = o.b.size();
        for (int i = 0; i < tensors.size(); i++) {
            while (o.b.size() < base + offsets[i]) o.b.write(0);
            o.raw(tensors.get(i).data());
        }
        while (o.b.size() % alignment != 0) o.b.write(0);
        return o.b.toByteArray();
    }

    private static void value(Out o, String k, int type, int elemType, Object v) {
        switch (type) {
            case U8, I8 -> o.mark("value of " + k, 1, "u8").u8(((Number) v).intValue());
            case U16, I16 -> o.mark("value of " + k, 2, "u16").u8(((Number) v).intValue()).u8(((Number) v).intValue() >>> 8);
            case U32, I32 -> o.mark("value of " + k, 4, "u32").u32(((Number) v).longValue());
            case U64, I64 -> o.mark("value of " + k, 8, "u64").u64(((Number) v).longValue());
            case F32 -> o.mark("value of " + k, 4, "f32").u32(Float.floatToRawIntBits(((Number) v).floatValue()));
            case F64 -> o.mark("value of " + k, 8, "f64").u64(Double.doubleToRawLongBits(((Number) v).doubleValue()));
            case BOOL -> o.mark("value of " + k, 1, "bool").u8((Boolean) v ? 1 : 0);
            case STRING -> o.mark("length of the value of " + k, 8, "length").string((String) v);
            case ARRAY -> {
                List<?> items = (List<?>) v;
                o.mark("element type of " + k, 4, "type").u32(elemType);
                o.mark("element count of " + k, 8, "count").u64(items.size());
                Out quiet = o.quiet();
                for (Object item : items) value(quiet, k, elemType, -1, item);
            }
            default -> throw new IllegalArgumentException("type " + type);
        }
    }

    static long pad(long x, long a) {
        return (x + a - 1) / a * a;
    }

    /** Little-endian output that records marked fields (not inside arrays: too many, and alike). */
    private static final class Out {
        final ByteArrayOutputStream b;
        final List<Field> fields;

        Out(List<Field> fields) {
            this(new ByteArrayOutputStream(), fields);
        }

        private Out(ByteArrayOutputStream b, List<Field> fields) {
            this.b = b;
            this.fields = fields;
        }

        Out quiet() {
            return new Out(b, null);
        }

        Out mark(String name, int width, String kind) {
            if (fields != null) fields.add(new Field(name, b.size(), width, kind));
            return this;
        }

        Out u8(int v) {
            b.write(v);
            return this;
        }

        Out u32(long v) {
            for (int i = 0; i < 4; i++) b.write((int) (v >>> (8 * i)));
            return this;
        }

        Out u64(long v) {
            for (int i = 0; i < 8; i++) b.write((int) (v >>> (8 * i)));
            return this;
        }

        Out raw(byte[] x) {
            b.writeBytes(x);
            return this;
        }

        Out string(String s) {
            byte[] x = s.getBytes(StandardCharsets.UTF_8);
            u64(x.length);
            return raw(x);
        }
    }
}
