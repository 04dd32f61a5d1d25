package dev.fabric.gguf;

import static org.junit.jupiter.api.Assertions.*;

import dev.fabric.testing.SharedRef;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Deterministic mutation fuzzing under plain {@code mvn test}: valid GGUF files are corrupted with a fixed seed
 * (byte and bit flips, interesting integers written over fields, insertions, deletions, truncations, duplicated
 * chunks) and opened. Every outcome must be success or {@link GgufFormatException}; any other Throwable (or a JVM
 * crash from touching unmapped memory) fails the test. Opened files are exercised: every metadata getter and the
 * first and last byte of every tensor.
 */
class GgufMutationFuzzTest {
    static final int ITERATIONS = 20_000;
    private static final long[] INTERESTING = {0, 1, 2, 3, 4, 5, 7, 8, 9, 12, 13, 31, 32, 33, 63, 64, 255, 256,
        65535, 0x7FFF_FFFFL, 0x8000_0000L, 0xFFFF_FFFFL, 1L << 32, 1L << 40, 1L << 60, 1L << 62, Long.MAX_VALUE,
        Long.MIN_VALUE, -1, -2, -8, -32};

    @TempDir
    Path dir;

    private static List<byte[]> seeds(Path dir) throws IOException {
        List<byte[]> seeds = new ArrayList<>();
        seeds.add(GgufBytes.sample().bytes());
        // a writer-made file with other types, n_dims and a 64-byte alignment
        Path w = dir.resolve("seed2.gguf");
        List<TensorSpec> specs = List.of(new TensorSpec("q4k", new long[] {256, 2}, GgmlType.Q4_K),
                new TensorSpec("i", new long[] {3, 1, 2, 1}, GgmlType.I32), new TensorSpec("e", new long[] {0, 4}, GgmlType.F32));
        try (GgufWriter gw = GgufWriter.create(w, GgufMetadata.builder().putString("general.name", "seed")
                .putArray("n", GgufArray.of(GgufValueType.ARRAY, new GgufArray[] {
                    GgufArray.ofStrings(List.of("x", "yy"))}))
                .putBool("b", false).putF64("d", 2.5).build(), specs, 64)) {
            gw.writeTensor(0, ByteBuffer.wrap(GgufBytes.ramp(288, 3)));
            gw.writeTensor(1, ByteBuffer.wrap(GgufBytes.ramp(24, 9)));
            gw.writeTensor(2, ByteBuffer.allocate(0));
            gw.finish();
        }
        seeds.add(Files.readAllBytes(w));
        Path ref = SharedRef.dir() == null ? null : SharedRef.dir().resolve("imatrix/qwen3-micro-f16.imatrix.gguf");
        if (ref != null && Files.exists(ref)) seeds.add(Files.readAllBytes(ref));
        return seeds;
    }

    static byte[] mutate(byte[] in, Random r) {
        byte[] b = in;
        int rounds = 1 + r.nextInt(4);
        for (int k = 0; k < rounds; k++) {
            int n = b.length;
            switch (r.nextInt(8)) {
                case 0 -> { // random byte
                    if (n > 0) {
                        b = b.clone();
                        b[r.nextInt(n)] = (byte) r.nextInt(256);
                    }
                }
                case 1 -> { // bit flip
                    if (n > 0) {
                        b = b.clone();
                        b[r.nextInt(n)] ^= (byte) (1 << r.nextInt(8));
                    }
                }
                case 2, 3 -> { // an interesting integer over a 4- or 8-byte field, often at an aligned spot
                    int width = r.nextBoolean() ? 4 : 8;
                    if (n >= width) {
                        b = b.clone();
                        int at = r.nextInt(n - width + 1);
                        if (r.nextBoolean()) at &= ~3;
                        long v = INTERESTING[r.nextInt(INTERESTING.length)];
                        for (int i = 0; i < width; i++) b[at + i] = (byte) (v >>> (8 * i));
                    }
                }
                case 4 -> { // insert random bytes
                    int at = r.nextInt(n + 1);
                    byte[] ins = new byte[1 + r.nextInt(16)];
                    r.nextBytes(ins);
                    byte[] c = new byte[n + ins.length];
                    System.arraycopy(b, 0, c, 0, at);
                    System.arraycopy(ins, 0, c, at, ins.length);
                    System.arraycopy(b, at, c, at + ins.length, n - at);
                    b = c;
                }
                case 5 -> { // delete a range
                    if (n > 0) {
                        int at = r.nextInt(n);
                        int len = 1 + r.nextInt(Math.min(32, n - at));
                        byte[] c = new byte[n - len];
                        System.arraycopy(b, 0, c, 0, at);
                        System.arraycopy(b, at + len, c, at, n - at - len);
                        b = c;
                    }
                }
                case 6 -> b = Arrays.copyOf(b, r.nextInt(n + 1)); // truncate
                default -> { // duplicate a chunk somewhere else
                    if (n > 0) {
                        int from = r.nextInt(n);
                        int len = 1 + r.nextInt(Math.min(64, n - from));
                        int at = r.nextInt(n + 1);
                        byte[] c = new byte[n + len];
                        System.arraycopy(b, 0, c, 0, at);
                        System.arraycopy(b, from, c, at, len);
                        System.arraycopy(b, at, c, at + len, n - at);
                        b = c;
                    }
                }
            }
        }
        return b;
    }

    /** Opens {@code p} and touches everything it offers; returns true if it opened. */
    static boolean openAndExercise(Path p) throws IOException {
        try (GgufFile f = GgufFile.open(p)) {
            GgufMetadata m = f.metadata();
            for (String k : m.keys()) {
                GgufValue v = m.get(k);
                v.toString();
                try {
                    switch (v.type()) {
                        case STRING -> m.getString(k);
                        case BOOL -> m.getBool(k);
                        case FLOAT32, FLOAT64 -> m.getFloat(k);
                        case ARRAY -> {
                            GgufArray a = m.getArray(k);
                            if (a.elementType() == GgufValueType.STRING) m.getStringArray(k);
                            else if (a.elementType().isInteger()) m.getIntArray(k);
                            else if (a.elementType() == GgufValueType.FLOAT32) m.getFloatArray(k);
                        }
                        default -> m.getInt(k);
                    }
                } catch (GgufFormatException expected) {
                    // a value that does not fit the getter (e.g. a huge UINT64 read as an int)
                }
            }
            long sum = 0;
            for (GgufTensorInfo t : f.tensors()) {
                TensorData d = f.data(t);
                if (d.byteSize() > 0) {
                    sum += d.slice(0, 1).get(0) + d.slice(d.byteSize() - 1, 1).get(0);
                }
            }
            return sum != Long.MIN_VALUE; // keep the reads alive
        }
    }

    @Test
    void mutatedFilesFailOnlyWithGgufFormatException() throws IOException {
        try (Scratch scratch = new Scratch(dir)) {
            run(scratch.dir());
        }
    }

    private void run(Path dir) throws IOException {
        List<byte[]> seeds = seeds(dir);
        Random r = new Random(0x6767_7566L);
        Path p = dir.resolve("mutant.gguf");
        int opened = 0, rejected = 0;
        List<String> crashes = new ArrayList<>();
        java.lang.management.ThreadMXBean mx = java.lang.management.ManagementFactory.getThreadMXBean();
        long cpu0 = mx.getCurrentThreadCpuTime(), wall0 = System.nanoTime();
        long parseCpu = 0;
        for (int i = 0; i < ITERATIONS; i++) {
            byte[] mutant = mutate(seeds.get(i % seeds.size()), r);
            try {
                // parse the image in memory first (cheap); what parses is then written, mapped and touched
                long c0 = mx.getCurrentThreadCpuTime();
                try {
                    GgufParser.parse(p.toString(), mutant);
                } finally {
                    parseCpu += mx.getCurrentThreadCpuTime() - c0;
                }
                Files.write(p, mutant);
                openAndExercise(p);
                opened++;
            } catch (GgufFormatException e) {
                rejected++;
                assertTrue(e.getMessage().startsWith(p.toString()), e.getMessage());
            } catch (Throwable t) {
                if (crashes.size() < 5) {
                    Files.write(p, mutant);
                    Path keep = dir.resolve("crash-" + i + ".gguf");
                    Files.write(keep, mutant);
                    crashes.add("iteration " + i + ": " + t + " (input " + keep + ")");
                    t.printStackTrace();
                } else {
                    crashes.add("iteration " + i + ": " + t);
                }
            }
        }
        System.out.printf("GGUF mutation fuzz: %d iterations over %d seeds: %d opened, %d rejected with "
                + "GgufFormatException, %d other throwables (%.1f s CPU, %.1f s of it parsing in memory; %.1f s wall)%n",
                ITERATIONS, seeds.size(), opened, rejected, crashes.size(), (mx.getCurrentThreadCpuTime() - cpu0) / 1e9,
                parseCpu / 1e9, (System.nanoTime() - wall0) / 1e9);
        assertEquals(List.of(), crashes.subList(0, Math.min(5, crashes.size())), crashes.size() + " crashes");
        assertTrue(opened > 0 && rejected > ITERATIONS / 4, "the mutations exercise both outcomes");
    }
}
