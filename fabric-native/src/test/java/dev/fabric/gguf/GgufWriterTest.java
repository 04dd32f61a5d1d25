package dev.fabric.gguf;

import static org.junit.jupiter.api.Assertions.*;

import dev.fabric.testing.SharedRef;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class GgufWriterTest {
    @TempDir
    Path dir;

    /** The sample's metadata, built through the API (the sample's bytes come from the independent test encoder). */
    private static GgufMetadata sampleMetadata() {
        return GgufMetadata.builder()
                .putString("general.architecture", "llama")
                .putU32("general.alignment", 32)
                .putU8("test.u8", 200)
                .putI8("test.i8", -5)
                .putU16("test.u16", 60000)
                .putI16("test.i16", -1234)
                .putU32("test.u32", 4_000_000_000L)
                .putI32("test.i32", -7)
                .putF32("test.f32", 1.5f)
                .putBool("test.bool", true)
                .putU64("test.u64", -2L)
                .putI64("test.i64", -3_000_000_000L)
                .putF64("test.f64", -0.25)
                .putStringArray("tokenizer.ggml.tokens", List.of("a", "bé", "<0x0A>"))
                .putI32Array("test.ints", new int[] {1, -2, 300, Integer.MAX_VALUE})
                .putF32Array("test.floats", new float[] {0.5f, -2f})
                .putArray("test.nested", GgufArray.of(GgufValueType.ARRAY, new GgufArray[] {
                    GgufArray.of(GgufValueType.UINT8, new byte[] {1, 2}),
                    GgufArray.of(GgufValueType.UINT8, new byte[0])}))
                .build();
    }

    private static final List<TensorSpec> SAMPLE_TENSORS = List.of(
            new TensorSpec("b", new long[] {32, 2}, GgmlType.Q8_0),
            new TensorSpec("c", new long[] {3}, GgmlType.F16),
            new TensorSpec("a", new long[] {4, 2}, GgmlType.F32));

    @Test
    void writesTheSampleByteForByte() throws IOException {
        Path out = dir.resolve("sample.gguf");
        try (GgufWriter w = GgufWriter.create(out, sampleMetadata(), SAMPLE_TENSORS, 32)) {
            assertFalse(Files.exists(out), "nothing appears before finish");
            w.writeTensor(0, ByteBuffer.wrap(GgufBytes.ramp(68, 1)));
            ByteBuffer direct = ByteBuffer.allocateDirect(6).put(GgufBytes.ramp(6, 101)).flip();
            w.writeTensor(1, direct);
            assertEquals(0, direct.position(), "the caller's buffer is not consumed");
            w.writeTensor(2, ByteBuffer.wrap(GgufBytes.ramp(32, 201)));
            w.finish();
        }
        assertArrayEquals(GgufBytes.sample().bytes(), Files.readAllBytes(out));
        assertEquals(0, dir.toFile().list((d, n) -> n.contains(".fabric-tmp-")).length);
    }

    @Test
    void misuseIsCaughtAndAbandonedFilesVanish() throws IOException {
        Path out = dir.resolve("abandoned.gguf");
        try (GgufWriter w = GgufWriter.create(out, sampleMetadata(), SAMPLE_TENSORS, 32)) {
            assertThrows(IllegalStateException.class, () -> w.writeTensor(1, ByteBuffer.allocate(6)));
            assertThrows(IllegalArgumentException.class, () -> w.writeTensor(0, ByteBuffer.allocate(67)));
            w.writeTensor(0, ByteBuffer.allocate(68));
            IllegalStateException e = assertThrows(IllegalStateException.class, w::finish);
            assertTrue(e.getMessage().contains("only 1 of 3"), e.getMessage());
        }
        assertFalse(Files.exists(out));
        assertEquals(0, dir.toFile().list((d, n) -> n.contains(".fabric-tmp-")).length, "temporary file deleted");
        assertThrows(IllegalArgumentException.class,
                () -> GgufWriter.create(out, sampleMetadata(), SAMPLE_TENSORS, 64), "key says 32");
        assertThrows(IllegalArgumentException.class,
                () -> GgufWriter.create(out, GgufMetadata.builder().build(), SAMPLE_TENSORS, 24));
    }

    @Test
    void otherAlignmentAndTrailingUnitDimsSurviveARoundTrip() throws IOException {
        Path out = dir.resolve("a64.gguf");
        Files.writeString(out, "old contents are replaced");
        List<TensorSpec> specs = List.of(new TensorSpec("x", new long[] {5, 1, 1}, GgmlType.F32),
                new TensorSpec("y", new long[] {256, 1}, GgmlType.Q4_K), new TensorSpec("z", new long[] {0}, GgmlType.F32));
        GgufMetadata m = GgufMetadata.builder().putString("general.name", "t").build();
        try (GgufWriter w = GgufWriter.create(out, m, specs, 64)) {
            assertEquals(0, w.offsetOf(0));
            assertEquals(64, w.offsetOf(1));
            assertEquals(256, w.offsetOf(2));
            ByteBuffer x = ByteBuffer.allocateDirect(20);
            for (int i = 0; i < 20; i++) x.put(i, (byte) (i + 1));
            w.writeTensor(0, dev.fabric.backend.cpu.MmapNative.addressOf(x), 20);
            w.writeTensor(1, ByteBuffer.wrap(GgufBytes.ramp(144, 7)));
            w.writeTensor(2, ByteBuffer.allocate(0));
            w.finish();
        }
        try (GgufFile f = GgufFile.open(out)) {
            assertEquals(64, f.alignment());
            assertEquals(List.of("general.name", "general.alignment"), List.copyOf(f.metadata().keys()));
            assertEquals(0, f.dataOffset() % 64);
            assertEquals(3, f.tensor("x").nDims());
            assertEquals(2, f.tensor("y").nDims());
            assertEquals(specs, f.tensors().stream().map(GgufTensorInfo::toSpec).toList());
            assertEquals(5, f.data(f.tensor("x")).slice(4, 1).get(0));
            assertEquals((byte) (7 + 143), f.data(f.tensor("y")).slice(143, 1).get(0));
            assertEquals(f.dataOffset() + 256, f.fileSize(), "the last tensor is padded too");
            assertTrue(f.isPacked());
        }
    }

    @Test
    void builderPutMovesAKeyToTheEndLikeGgufSetVal() {
        GgufMetadata m = GgufMetadata.builder().putU32("a", 1).putU32("b", 2).putU32("a", 3).build();
        assertEquals(List.of("b", "a"), List.copyOf(m.keys()));
        m = m.toBuilder().replace("b", GgufValue.string("s")).remove("zz").build();
        assertEquals(List.of("b", "a"), List.copyOf(m.keys()));
        assertEquals("s", m.getString("b"));
        assertThrows(IllegalArgumentException.class, () -> GgufValue.u8(256));
        assertThrows(IllegalArgumentException.class, () -> GgufValue.u32(-1));
        assertThrows(IllegalArgumentException.class, () -> new GgufValue(GgufValueType.UINT32, 5L));
    }

    // ---- round trip of every reference GGUF ----------------------------------------------------------------------

    static Stream<String> refFiles() throws IOException {
        Path d = SharedRef.dir();
        if (d == null) return Stream.of("(absent)");
        List<String> files;
        try (Stream<Path> s = Files.walk(d)) {
            files = s.filter(p -> p.toString().endsWith(".gguf"))
                    .filter(p -> List.of("models", "engine", "quant", "imatrix").contains(d.relativize(p).getName(0).toString()))
                    .map(p -> d.relativize(p).toString()).sorted().toList();
        }
        return files.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("refFiles")
    void referenceFileRoundTripsByteForByte(String rel) throws IOException, NoSuchAlgorithmException {
        Path src = SharedRef.require(rel);
        try (Scratch scratch = new Scratch(dir)) {
            roundTrip(rel, src, scratch.dir().resolve(src.getFileName()));
        }
    }

    private static void roundTrip(String rel, Path src, Path out) throws IOException, NoSuchAlgorithmException {
        try (GgufFile f = GgufFile.open(src);
                GgufWriter w = GgufWriter.create(out, f.metadata(),
                        f.tensors().stream().map(GgufTensorInfo::toSpec).toList(), (int) f.alignment())) {
            for (int i = 0; i < f.tensors().size(); i++) {
                assertEquals(f.tensors().get(i).offset(), w.offsetOf(i), "offset of " + f.tensors().get(i).name());
                w.writeTensor(i, f.data(f.tensors().get(i)));
            }
            w.finish();
        }
        assertEquals(Files.size(src), Files.size(out), rel + " size");
        assertEquals(sha256(src), sha256(out), rel + " SHA-256");
        System.out.printf("round trip %-45s %10d bytes  sha256 %s  identical%n", rel, Files.size(out),
                sha256(out).substring(0, 16));
    }

    private static String sha256(Path p) throws IOException, NoSuchAlgorithmException {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        try (InputStream in = new DigestInputStream(Files.newInputStream(p), md)) {
            in.transferTo(java.io.OutputStream.nullOutputStream());
        }
        return HexFormat.of().formatHex(md.digest());
    }
}
