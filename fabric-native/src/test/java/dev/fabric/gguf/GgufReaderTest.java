package dev.fabric.gguf;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GgufReaderTest {
    @TempDir
    Path dir;

    private Path write(byte[] b) throws IOException {
        return Files.write(Files.createTempFile(dir, "t", ".gguf"), b);
    }

    @Test
    void readsEveryValueTypeOfTheSample() throws IOException {
        GgufBytes s = GgufBytes.sample();
        try (GgufFile f = GgufFile.open(write(s.bytes()))) {
            assertEquals(3, f.version());
            assertEquals(32, f.alignment());
            assertEquals(s.at("data"), f.dataOffset());
            assertEquals(s.at("infos_end"), f.infosEnd());
            assertEquals(s.size(), f.fileSize());
            GgufMetadata m = f.metadata();
            assertEquals(List.of("general.architecture", "general.alignment", "test.u8", "test.i8", "test.u16",
                    "test.i16", "test.u32", "test.i32", "test.f32", "test.bool", "test.u64", "test.i64", "test.f64",
                    "tokenizer.ggml.tokens", "test.ints", "test.floats", "test.nested"), List.copyOf(m.keys()));
            assertEquals("llama", m.getString("general.architecture"));
            assertEquals(200, m.getInt("test.u8"));
            assertEquals(-5, m.getInt("test.i8"));
            assertEquals(60000, m.getInt("test.u16"));
            assertEquals(-1234, m.getInt("test.i16"));
            assertEquals(4_000_000_000L, m.getLong("test.u32"));
            assertEquals(-7, m.getInt("test.i32"));
            assertEquals(1.5f, m.getFloat("test.f32"));
            assertTrue(m.getBool("test.bool", false));
            assertEquals(-3_000_000_000L, m.getLong("test.i64"));
            assertEquals(-0.25f, m.getFloat("test.f64"));
            assertEquals(GgufValueType.UINT64, m.get("test.u64").type());
            assertEquals(-2L, (Long) m.get("test.u64").value()); // bits of 2^64-2
            assertEquals(0x1p64f, m.getFloat("test.u64"), "read as unsigned");
            assertEquals(List.of("a", "bé", "<0x0A>"), m.getStringArray("tokenizer.ggml.tokens"));
            assertArrayEquals(new int[] {1, -2, 300, Integer.MAX_VALUE}, m.getIntArray("test.ints"));
            assertArrayEquals(new float[] {0.5f, -2f}, m.getFloatArray("test.floats"));
            GgufArray nested = m.getArray("test.nested");
            assertEquals(GgufValueType.ARRAY, nested.elementType());
            GgufArray[] inner = (GgufArray[]) nested.values();
            assertArrayEquals(new byte[] {1, 2}, (byte[]) inner[0].values());
            assertEquals(0, inner[1].size());
            // defaults and typed errors name the key and the file
            assertEquals("x", m.getString("absent", "x"));
            assertEquals(7, m.getInt("absent", 7));
            GgufFormatException e = assertThrows(GgufFormatException.class, () -> m.getInt("test.u32"));
            assertTrue(e.getMessage().contains("test.u32") && e.getMessage().contains("32-bit"), e.getMessage());
            e = assertThrows(GgufFormatException.class, () -> m.getLong("test.u64"));
            assertTrue(e.getMessage().contains("18446744073709551614"), e.getMessage());
            e = assertThrows(GgufFormatException.class, () -> m.getString("test.u8"));
            assertTrue(e.getMessage().contains("'test.u8' is UINT8, expected STRING"), e.getMessage());
            e = assertThrows(GgufFormatException.class, () -> m.getString("missing.key"));
            assertTrue(e.getMessage().contains("missing metadata key 'missing.key'")
                    && e.getMessage().contains(f.path().toString()), e.getMessage());
        }
    }

    @Test
    void tensorInfosAndDataViewsAreExact() throws IOException {
        GgufBytes s = GgufBytes.sample();
        byte[] file = s.bytes();
        try (GgufFile f = GgufFile.open(write(file))) {
            assertEquals(List.of("b", "c", "a"), f.tensors().stream().map(GgufTensorInfo::name).toList());
            GgufTensorInfo b = f.tensor("b");
            assertArrayEquals(new long[] {32, 2}, b.shape());
            assertEquals(GgmlType.Q8_0, b.type());
            assertEquals(68, b.byteSize());
            assertEquals(64, b.elements());
            assertEquals(2, b.nDims());
            assertEquals(1, f.tensor("c").nDims());
            assertNull(f.tensor("zzz"));
            assertTrue(f.isPacked());
            for (GgufTensorInfo t : f.tensors()) {
                TensorData d = f.data(t);
                assertEquals(t.byteSize(), d.byteSize());
                ByteBuffer v = d.slice(0, (int) d.byteSize());
                assertEquals(ByteOrder.LITTLE_ENDIAN, v.order());
                assertTrue(v.isReadOnly());
                assertEquals(d.byteSize(), v.capacity(), "the view is exactly the tensor");
                int base = s.at("data." + t.name());
                for (int i = 0; i < d.byteSize(); i++) assertEquals(file[base + i], v.get(i), t.name() + "[" + i + "]");
                ByteBuffer mid = d.slice(3, 2);
                assertEquals(file[base + 3], mid.get(0));
                assertEquals(file[base + 4], mid.get(1));
                assertThrows(IndexOutOfBoundsException.class, () -> d.slice(d.byteSize() - 1, 2));
            }
            // the float tensor read through the view as little-endian floats
            ByteBuffer a = f.data(f.tensor("a")).asByteBuffer();
            assertEquals(ByteBuffer.wrap(file, s.at("data.a"), 4).order(ByteOrder.LITTLE_ENDIAN).getFloat(),
                    a.getFloat(0));
        }
        GgufFile g = GgufFile.open(write(file));
        TensorData kept = g.data(g.tensor("a"));
        g.close();
        g.close(); // idempotent
        assertThrows(IllegalStateException.class, () -> g.data(g.tensor("a")));
        assertThrows(IllegalStateException.class, () -> kept.slice(0, 1), "views refuse after close");
    }

    @Test
    void vocabularyOnlyFileNeedsNoDataSection() throws IOException {
        GgufBytes b = new GgufBytes();
        b.raw("GGUF".getBytes()).u32(2).u64(0).u64(1).key("general.name", 8).str("v2 vocab");
        try (GgufFile f = GgufFile.open(write(b.bytes()))) {
            assertEquals(2, f.version());
            assertEquals("v2 vocab", f.metadata().getString("general.name"));
            assertTrue(f.tensors().isEmpty());
        }
    }

    /** A tensor above 2 GiB, at an offset above 2 GiB, in a sparse file: the mapping has no int-sized limit. */
    @Test
    void mapsTensorsBeyondTwoGiB() throws IOException {
        long ne0 = 3L << 28; // 768 Mi floats = 3 GiB
        GgufBytes b = new GgufBytes();
        b.raw("GGUF".getBytes()).u32(3).u64(2).u64(0);
        b.str("small").u32(1).u64(8).u32(0).u64(0);
        b.str("huge").u32(1).u64(ne0).u32(0).u64(32);
        b.padTo(32);
        long dataStart = b.size();
        Path p = write(b.bytes());
        long hugeStart = dataStart + 32;
        long probe = 5L << 29; // 2.5 GiB into the huge tensor
        try (RandomAccessFile raf = new RandomAccessFile(p.toFile(), "rw")) {
            raf.setLength(hugeStart + ne0 * 4);
            raf.seek(hugeStart + probe);
            raf.write(new byte[] {0x11, 0x22, 0x33, 0x44});
            raf.seek(hugeStart + ne0 * 4 - 1);
            raf.write(0x7f);
        }
        try (GgufFile f = GgufFile.open(p)) {
            TensorData d = f.data(f.tensor("huge"));
            assertEquals(ne0 * 4, d.byteSize());
            ByteBuffer v = d.slice(probe, 4);
            assertEquals(0x44332211, v.getInt(0));
            assertEquals(0x7f, d.slice(d.byteSize() - 1, 1).get(0));
            assertEquals(0, d.slice(1L << 31, 1).get(0));
            assertThrows(UnsupportedOperationException.class, d::asByteBuffer);
        }
    }
}
