package dev.fabric.gguf;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A test-side GGUF encoder written straight from the format description (independent of {@link GgufWriter}), which
 * remembers the byte offset of every field it is told to {@link #mark}, so tests can corrupt exactly that field.
 */
final class GgufBytes {
    private byte[] buf = new byte[256];
    private int size;
    final Map<String, Integer> marks = new LinkedHashMap<>();

    GgufBytes mark(String name) {
        if (marks.put(name, size) != null) throw new IllegalStateException("mark twice: " + name);
        return this;
    }

    int at(String name) {
        Integer v = marks.get(name);
        if (v == null) throw new IllegalArgumentException("no mark " + name + " in " + marks.keySet());
        return v;
    }

    int size() {
        return size;
    }

    private void grow(int n) {
        if (size + n > buf.length) buf = Arrays.copyOf(buf, Math.max(buf.length * 2, size + n));
    }

    GgufBytes u8(int v) {
        grow(1);
        buf[size++] = (byte) v;
        return this;
    }

    GgufBytes u16(int v) {
        return u8(v).u8(v >>> 8);
    }

    GgufBytes u32(long v) {
        for (int i = 0; i < 4; i++) u8((int) (v >>> (8 * i)));
        return this;
    }

    GgufBytes u64(long v) {
        for (int i = 0; i < 8; i++) u8((int) (v >>> (8 * i)));
        return this;
    }

    GgufBytes f32(float v) {
        return u32(Float.floatToRawIntBits(v));
    }

    GgufBytes f64(double v) {
        return u64(Double.doubleToRawLongBits(v));
    }

    GgufBytes raw(byte[] b) {
        grow(b.length);
        System.arraycopy(b, 0, buf, size, b.length);
        size += b.length;
        return this;
    }

    GgufBytes str(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        return u64(b.length).raw(b);
    }

    GgufBytes padTo(int alignment) {
        while (size % alignment != 0) u8(0);
        return this;
    }

    /** A key/value header: key string (marked key.K), then the type id (marked type.K). */
    GgufBytes key(String k, int type) {
        mark("key." + k).str(k);
        return mark("type." + k).u32(type);
    }

    byte[] bytes() {
        return Arrays.copyOf(buf, size);
    }

    // ---- patching a finished file -----------------------------------------------------------------------------

    static byte[] patchU32(byte[] f, int at, long v) {
        byte[] c = f.clone();
        ByteBuffer.wrap(c).order(ByteOrder.LITTLE_ENDIAN).putInt(at, (int) v);
        return c;
    }

    static byte[] patchU64(byte[] f, int at, long v) {
        byte[] c = f.clone();
        ByteBuffer.wrap(c).order(ByteOrder.LITTLE_ENDIAN).putLong(at, v);
        return c;
    }

    static byte[] patchU8(byte[] f, int at, int v) {
        byte[] c = f.clone();
        c[at] = (byte) v;
        return c;
    }

    /**
     * The sample file most tests start from: GGUF v3 with one key of every value type (a string array, an INT32
     * array, a FLOAT32 array and a nested array among them) and three tensors (Q8_0, F16, F32) whose data are
     * distinct byte ramps. The last tensor's size is a multiple of the alignment, so the file ends exactly with
     * data: every shorter prefix is truncated.
     */
    static GgufBytes sample() {
        GgufBytes b = new GgufBytes();
        b.mark("magic").raw("GGUF".getBytes(StandardCharsets.US_ASCII));
        b.mark("version").u32(3);
        b.mark("n_tensors").u64(3);
        b.mark("n_kv").u64(17);
        b.mark("kvs");
        b.key("general.architecture", 8).mark("len.general.architecture").str("llama");
        b.key("general.alignment", 4).mark("val.general.alignment").u32(32);
        b.key("test.u8", 0).u8(200);
        b.key("test.i8", 1).u8(-5);
        b.key("test.u16", 2).u16(60000);
        b.key("test.i16", 3).u16(-1234);
        b.key("test.u32", 4).u32(4_000_000_000L);
        b.key("test.i32", 5).u32(-7);
        b.key("test.f32", 6).f32(1.5f);
        b.key("test.bool", 7).mark("val.test.bool").u8(1);
        b.key("test.u64", 10).u64(-2L); // 2^64 - 2
        b.key("test.i64", 11).u64(-3_000_000_000L);
        b.key("test.f64", 12).f64(-0.25);
        b.key("tokenizer.ggml.tokens", 9).mark("etype.tokenizer.ggml.tokens").u32(8)
                .mark("count.tokenizer.ggml.tokens").u64(3).str("a").str("bé").str("<0x0A>");
        b.key("test.ints", 9).u32(5).mark("count.test.ints").u64(4).u32(1).u32(-2).u32(300).u32(Integer.MAX_VALUE);
        b.key("test.floats", 9).u32(6).u64(2).f32(0.5f).f32(-2f);
        b.key("test.nested", 9).u32(9).u64(2).mark("nested.0").u32(0).u64(2).u8(1).u8(2).u32(0).u64(0);
        b.mark("infos");
        // tensor infos: b (Q8_0 32x2 = 68 bytes), c (F16 3 = 6 bytes), a (F32 4x2 = 32 bytes, last)
        b.mark("info.b").mark("name.b").str("b").mark("ndims.b").u32(2).mark("ne0.b").u64(32).mark("ne1.b").u64(2)
                .mark("gtype.b").u32(8).mark("offset.b").u64(0);
        b.mark("info.c").mark("name.c").str("c").mark("ndims.c").u32(1).mark("ne0.c").u64(3)
                .mark("gtype.c").u32(1).mark("offset.c").u64(96);
        b.mark("info.a").mark("name.a").str("a").mark("ndims.a").u32(2).mark("ne0.a").u64(4).mark("ne1.a").u64(2)
                .mark("gtype.a").u32(0).mark("offset.a").u64(128);
        b.mark("infos_end").padTo(32).mark("data");
        b.mark("data.b").raw(ramp(68, 1)).padTo(32);
        b.mark("data.c").raw(ramp(6, 101)).padTo(32);
        b.mark("data.a").raw(ramp(32, 201)).mark("end");
        return b;
    }

    static byte[] ramp(int n, int start) {
        byte[] r = new byte[n];
        for (int i = 0; i < n; i++) r[i] = (byte) (start + i);
        return r;
    }
}
