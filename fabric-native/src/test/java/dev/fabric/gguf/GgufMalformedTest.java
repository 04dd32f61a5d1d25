package dev.fabric.gguf;

import static dev.fabric.gguf.GgufBytes.patchU32;
import static dev.fabric.gguf.GgufBytes.patchU64;
import static dev.fabric.gguf.GgufBytes.patchU8;
import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Hostile and broken files built from the sample by corrupting one field: each must fail with a clear message. */
class GgufMalformedTest {
    @TempDir
    Path dir;

    private Scratch scratch;
    private final GgufBytes s = GgufBytes.sample();
    private final byte[] good = s.bytes();

    @org.junit.jupiter.api.BeforeEach
    void scratch() {
        scratch = new Scratch(dir);
    }

    @org.junit.jupiter.api.AfterEach
    void cleanUp() {
        scratch.close();
    }

    private GgufFormatException bad(byte[] file, String... fragments) throws IOException {
        Path p = Files.write(Files.createTempFile(scratch.dir(), "bad", ".gguf"), file);
        GgufFormatException e = assertThrows(GgufFormatException.class, () -> GgufFile.open(p).close());
        assertTrue(e.getMessage().startsWith(p.toString() + ": "), e.getMessage());
        for (String f : fragments) assertTrue(e.getMessage().contains(f), "'" + f + "' not in: " + e.getMessage());
        return e;
    }

    private byte[] counts(byte[] f, long nTensors, long nKv) {
        return patchU64(patchU64(f, s.at("n_tensors"), nTensors), s.at("n_kv"), nKv);
    }

    private static String off(int at) {
        return "(at byte offset " + at + ")";
    }

    @Test
    void sampleIsValid() throws IOException {
        try (GgufFile f = GgufFile.open(Files.write(dir.resolve("ok.gguf"), good))) {
            assertEquals(3, f.tensors().size());
        }
    }

    @Test
    void everyStrictPrefixIsRejected() throws IOException {
        Path p = scratch.dir().resolve("prefix.gguf");
        for (int n = 0; n < good.length; n++) {
            Files.write(p, Arrays.copyOf(good, n));
            int len = n;
            GgufFormatException e = assertThrows(GgufFormatException.class, () -> GgufFile.open(p).close(),
                    "prefix of " + len + " bytes");
            String m = e.getMessage();
            assertTrue(m.contains("truncated") || m.contains("not a GGUF file") || m.contains("larger than the rest")
                    || m.contains("impossible") || m.contains("past the end"), len + ": " + m);
        }
    }

    @Test
    void truncationAtEachSectionBoundaryNamesTheField() throws IOException {
        bad(Arrays.copyOf(good, s.at("version")), "truncated: version needs 4 bytes but only 0 remain", off(4));
        bad(Arrays.copyOf(good, 3), "not a GGUF file: only 3 bytes");
        bad(Arrays.copyOf(good, s.at("n_tensors")), "truncated: tensor count needs 8 bytes", off(8));
        bad(Arrays.copyOf(good, s.at("n_kv")), "truncated: metadata count", off(16));
        bad(Arrays.copyOf(good, s.at("kvs")), "tensor count 3 is impossible: the 0 bytes left", off(8));
        bad(patchU64(Arrays.copyOf(good, s.at("kvs") + 40), s.at("n_tensors"), 0), "metadata count 17 is impossible",
                "hold at most 3 entries", off(16));
        // with counts small enough to pass the up-front size check, the cut is found at the field itself
        bad(counts(Arrays.copyOf(good, s.at("type.test.u32")), 0, 7), "truncated: value type of 'test.u32' needs 4",
                off(s.at("type.test.u32")));
        bad(counts(Arrays.copyOf(good, s.at("key.test.u32") + 9), 0, 7),
                "length of key of metadata entry #6 8 is larger than the rest of the file allows (1 bytes left",
                off(s.at("key.test.u32")));
        bad(counts(Arrays.copyOf(good, s.at("val.test.bool")), 0, 10), "truncated: value of 'test.bool' needs 1");
        bad(Arrays.copyOf(good, s.at("infos")), "truncated", "name of tensor #0");
        bad(counts(Arrays.copyOf(good, s.at("ne1.b")), 1, 17), "truncated: ne[1] of tensor 'b' needs 8",
                off(s.at("ne1.b")));
        bad(Arrays.copyOf(good, s.at("offset.a")), "truncated", "data offset of tensor 'a'");
        bad(Arrays.copyOf(good, s.at("infos_end")), "data section would start at " + s.at("data"));
        bad(Arrays.copyOf(good, s.at("data")), "tensor 'b' data [0, 0+68)", "past the end of the file");
        bad(Arrays.copyOf(good, s.at("data.a")), "tensor 'a'", "past the end");
        bad(Arrays.copyOf(good, s.at("end") - 1), "tensor 'a'", "past the end");
    }

    @Test
    void absurdCountsAndLengthsFailBeforeAllocating() throws IOException {
        bad(patchU64(good, s.at("n_kv"), 1L << 62), "metadata count 4611686018427387904 is impossible", off(16));
        bad(patchU64(good, s.at("n_kv"), -1L), "metadata count 18446744073709551615 is impossible");
        bad(patchU64(good, s.at("n_tensors"), 1L << 62), "tensor count 4611686018427387904 is impossible", off(8));
        bad(patchU64(good, s.at("key.general.architecture"), 1L << 60),
                "length of key of metadata entry #0 1152921504606846976 is larger than the rest of the file",
                off(s.at("key.general.architecture")));
        bad(patchU64(good, s.at("len.general.architecture"), 1L << 60), "length of value of 'general.architecture'",
                off(s.at("len.general.architecture")));
        bad(patchU64(good, s.at("count.tokenizer.ggml.tokens"), 1L << 40), "array count of 'tokenizer.ggml.tokens'",
                "1099511627776", off(s.at("count.tokenizer.ggml.tokens")));
        bad(patchU64(good, s.at("count.test.ints"), Long.MAX_VALUE), "array count of 'test.ints'");
        bad(patchU64(good, s.at("name.b"), -8L), "length of name of tensor #0 18446744073709551608");
    }

    @Test
    void tensorShapesAreChecked() throws IOException {
        bad(patchU32(good, s.at("ndims.b"), 5), "tensor 'b' has n_dims 5, expected 1..4", off(s.at("ndims.b")));
        bad(patchU32(good, s.at("ndims.b"), 0), "tensor 'b' has n_dims 0");
        bad(patchU32(good, s.at("ndims.b"), -1), "tensor 'b' has n_dims 4294967295");
        bad(patchU64(good, s.at("ne1.b"), -1), "tensor 'b' has a negative dimension ne[1] = -1", off(s.at("ne1.b")));
        bad(patchU64(good, s.at("ne1.b"), 1L << 62), "tensor 'b' has more elements than fit in 64 bits",
                off(s.at("ne1.b")));
        // elements fit, bytes do not: 2^61 floats are 2^63 bytes
        bad(patchU64(good, s.at("ne0.a"), 1L << 61), "tensor 'a' has more bytes than fit in 64 bits");
        bad(patchU64(good, s.at("ne0.b"), 33), "tensor 'b' of type Q8_0 has ne[0] = 33, not a multiple of the block "
                + "size 32", off(s.at("ne0.b")));
        bad(patchU64(good, s.at("ne1.a"), 1000), "tensor 'a'", "past the end");
    }

    @Test
    void tensorDataPlacementIsChecked() throws IOException {
        bad(patchU64(good, s.at("offset.c"), 1L << 20), "tensor 'c' data [1048576, 1048576+6)", "past the end");
        bad(patchU64(good, s.at("offset.c"), Long.MAX_VALUE & -32L), "tensor 'c'", "past the end");
        bad(patchU64(good, s.at("offset.c"), -32L), "tensor 'c' has data offset 18446744073709551584");
        bad(patchU64(good, s.at("offset.c"), 0), "tensors 'b' and 'c' overlap");
        bad(patchU64(good, s.at("offset.a"), 64), "tensors 'b' and 'a' overlap");
        bad(patchU64(good, s.at("offset.c"), 97), "tensor 'c' data offset 97 is not a multiple of the alignment 32");
        // a larger alignment makes the sample's offsets misaligned
        bad(patchU32(good, s.at("val.general.alignment"), 64), "tensor 'c' data offset 96 is not a multiple of the "
                + "alignment 64");
    }

    @ParameterizedTest
    @ValueSource(longs = {0, 3, 48, 0x80000001L})
    void alignmentMustBeAPowerOfTwo(long alignment) throws IOException {
        bad(patchU32(good, s.at("val.general.alignment"), alignment),
                "'general.alignment' = " + alignment + " is not a power of two");
    }

    @Test
    void alignmentMustBeUint32() throws IOException {
        bad(patchU32(good, s.at("type.general.alignment"), 5), "'general.alignment' is INT32, expected UINT32");
    }

    @Test
    void duplicatesAreRejected() throws IOException {
        byte[] dupKey = good.clone(); // rename test.i8 to test.u8 (same length)
        byte[] k = "test.u8".getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(k, 0, dupKey, s.at("key.test.i8") + 8, k.length);
        bad(dupKey, "duplicate metadata key 'test.u8'", off(s.at("key.test.i8")));
        bad(patchU8(good, s.at("name.a") + 8, 'b'), "duplicate tensor name 'b'", off(s.at("name.a")));
    }

    @Test
    void unknownTypesAreNamed() throws IOException {
        bad(patchU32(good, s.at("type.test.u32"), 13), "unknown value type 13 for metadata key 'test.u32'",
                off(s.at("type.test.u32")));
        bad(patchU32(good, s.at("type.test.u32"), -1), "unknown value type 4294967295");
        bad(patchU32(good, s.at("etype.tokenizer.ggml.tokens"), 77),
                "unknown array element type 77 in metadata key 'tokenizer.ggml.tokens'");
        bad(patchU32(good, s.at("gtype.c"), 99), "tensor 'c': unknown ggml type id 99", off(s.at("gtype.c")));
        bad(patchU32(good, s.at("gtype.c"), 31), "unknown ggml type id 31 (Q4_0_4_4", "removed");
        bad(patchU32(good, s.at("gtype.c"), 4), "unknown ggml type id 4 (Q4_2");
        bad(patchU8(good, s.at("val.test.bool"), 2), "value of 'test.bool' is a BOOL byte 2, expected 0 or 1");
    }

    @Test
    void versionsAndMagic() throws IOException {
        bad(patchU32(good, s.at("version"), 1), "GGUF version 1 is not supported", off(4));
        bad(patchU32(good, s.at("version"), 4), "GGUF version 4 is not supported (only versions 2 and 3 are)");
        bad(patchU32(good, s.at("version"), 0), "GGUF version 0 is not supported");
        bad(patchU32(good, s.at("version"), 0x03000000), "big-endian GGUF");
        bad(patchU8(good, 0, 'X'), "not a GGUF file: magic is \"XGUF\"", off(0));
        bad(patchU32(good, 0, 0x00000000), "magic is \"\\x00\\x00\\x00\\x00\"");
        bad(new byte[0], "only 0 bytes");
        try (GgufFile f = GgufFile.open(Files.write(dir.resolve("v2.gguf"), patchU32(good, 4, 2)))) {
            assertEquals(2, f.version());
        }
    }

    @Test
    void deeplyNestedArraysAreBounded() throws IOException {
        GgufBytes b = new GgufBytes();
        b.raw("GGUF".getBytes()).u32(3).u64(0).u64(1).key("deep", 9);
        for (int i = 0; i < 100; i++) b.u32(9).u64(1);
        b.u32(0).u64(0);
        bad(b.bytes(), "arrays in 'deep' are nested deeper than 8");
    }

    @Test
    void metadataThatWouldExhaustTheHeapIsRefused() throws IOException {
        // many empty strings: each is 8 bytes in the file but an object on the heap
        GgufBytes b = new GgufBytes();
        b.raw("GGUF".getBytes()).u32(3).u64(0).u64(1).key("many", 9).u32(8).u64(100_000);
        for (int i = 0; i < 100_000; i++) b.u64(0);
        Path p = Files.write(dir.resolve("many.gguf"), b.bytes());
        try (FileChannel ch = FileChannel.open(p)) {
            GgufFormatException e = assertThrows(GgufFormatException.class,
                    () -> GgufParser.parse(p.toString(), ch, ch.size(), 1 << 20));
            assertTrue(e.getMessage().contains("too large to hold in memory"), e.getMessage());
        }
        try (GgufFile f = GgufFile.open(p)) { // within the default budget it reads
            assertEquals(100_000, f.metadata().getStringArray("many").size());
        }
    }

    @Test
    void writerRefusesWhatLlamaCppRefuses() {
        Path out = dir.resolve("w.gguf");
        GgufMetadata m = GgufMetadata.builder().build();
        String longName = "x".repeat(64);
        GgufFormatException e = assertThrows(GgufFormatException.class, () -> GgufWriter.create(out, m,
                java.util.List.of(new TensorSpec(longName, new long[] {1}, GgmlType.F32)), 32));
        assertTrue(e.getMessage().contains("has 64 bytes"), e.getMessage());
        e = assertThrows(GgufFormatException.class, () -> GgufWriter.create(out, m, java.util.List.of(
                new TensorSpec("t", new long[] {1}, GgmlType.F32), new TensorSpec("t", new long[] {2}, GgmlType.F32)),
                32));
        assertTrue(e.getMessage().contains("duplicate tensor name 't'"), e.getMessage());
        assertFalse(Files.exists(out));
        assertEquals(0, dir.toFile().list((d, n) -> n.contains(".fabric-tmp-")).length);
    }

    @Test
    void longTensorNamesAreReadWithAWarning() throws IOException {
        String name = "n".repeat(70);
        GgufBytes b = new GgufBytes();
        b.raw("GGUF".getBytes()).u32(3).u64(1).u64(0).str(name).u32(1).u64(8).u32(0).u64(0).padTo(32);
        b.raw(new byte[32]);
        try (GgufFile f = GgufFile.open(Files.write(dir.resolve("long.gguf"), b.bytes()))) {
            assertEquals(name, f.tensors().get(0).name());
        }
    }

    @Test
    void marksCoverTheSample() {
        // guard against the sample builder drifting from what the tests above patch
        for (Map.Entry<String, Integer> e : s.marks.entrySet())
            assertTrue(e.getValue() <= good.length, e.getKey());
        assertEquals(s.at("end"), good.length);
    }
}
