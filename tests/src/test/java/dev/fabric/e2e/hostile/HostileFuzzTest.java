package dev.fabric.e2e.hostile;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fabric.e2e.hostile.Harness.Expect;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Random mutations of the valid inputs (the model, the adapter, the imatrix, the text, the conversation) with a
 * fixed seed, each run through the commands that read it, under {@link Harness}'s checks, for a time budget:
 * {@code FABRIC_FUZZ_SECONDS} (environment) or {@code -Dfabric.fuzz.seconds}, default 20 s; the seed is
 * {@code -Dfabric.fuzz.seed} (default 1), printed with the count so a failure can be replayed.
 */
class HostileFuzzTest {
    @TempDir
    Path tmp;

    static double budgetSeconds() {
        String s = System.getenv("FABRIC_FUZZ_SECONDS");
        if (s == null || s.isBlank()) s = System.getProperty("fabric.fuzz.seconds", "20");
        return Double.parseDouble(s.trim());
    }

    @Test
    void randomMutationsOfEveryInputKind() throws IOException {
        long seed = Long.getLong("fabric.fuzz.seed", 1L);
        double budget = budgetSeconds();
        Random r = new Random(seed);
        Path dir = Files.createDirectories(tmp.resolve("in"));
        Path model = Files.write(dir.resolve("model.gguf"), Fixtures.model().encode(null));
        Path calib = Files.writeString(dir.resolve("calib.txt"), Fixtures.CALIB);
        Harness h = new Harness(Files.createDirectories(tmp.resolve("runs")), true);
        h.protect(model, calib);
        Path im = tmp.resolve("im.gguf");
        Harness.Result ok = h.check("fuzz", "fixture", Expect.ANY, List.of(), List.of(), "imatrix", "-m", model.toString(), "-f",
                calib.toString(), "-c", "16", "--chunks", "2", "-o", im.toString(), "-t", "1");
        assertTrue(ok != null && ok.rc() == 0, "fixture imatrix: " + (ok == null ? h.failureReport(3) : ok.err()));
        byte[][] seeds = {Fixtures.model().encode(null), Fixtures.lora().encode(null), Files.readAllBytes(im),
            Fixtures.CALIB.getBytes(java.nio.charset.StandardCharsets.UTF_8), Fixtures.CHAT.getBytes(java.nio.charset.StandardCharsets.UTF_8)};
        String[] kinds = {"model", "adapter", "imatrix", "text", "chat"};
        long end = System.nanoTime() + (long) (budget * 1e9);
        int n = 0;
        while (System.nanoTime() < end) {
            int k = r.nextInt(kinds.length);
            byte[] b = mutate(seeds[k], r);
            Path f = Files.write(dir.resolve("fuzz-" + n + "." + (k == 3 ? "txt" : k == 4 ? "json" : "gguf")), b);
            String name = kinds[k] + " #" + n + " (seed " + seed + ")";
            List<String> culprit = List.of(f.getFileName().toString(), "byte offset", "tokens");
            List<Path> in = List.of(f);
            h.countCase("fuzz-" + kinds[k]);
            switch (k) {
                case 0 -> {
                    for (String[] a : HostileInputSuiteTest.modelCommandsFor(f, calib)) h.check("fuzz", name, Expect.ANY, culprit, in, a);
                }
                case 1 -> h.check("fuzz", name, Expect.ANY, culprit, in, "generate", "-m", model.toString(), "--lora", f.toString(),
                        "-p", "hi", "-n", "2", "--temp", "0", "-t", "1");
                case 2 -> {
                    h.check("fuzz", name, Expect.ANY, culprit, in, "quantize", "--imatrix", f.toString(), model.toString(),
                            Harness.OUT + "/q.gguf", "Q4_0", "1");
                    h.check("fuzz", name, Expect.ANY, culprit, in, "imatrix", "-m", model.toString(), "--in-file", f.toString(),
                            "-o", Harness.OUT + "/c.gguf");
                }
                case 3 -> {
                    h.check("fuzz", name, Expect.ANY, culprit, in, "tokenize", "-m", model.toString(), "-f", f.toString());
                    h.check("fuzz", name, Expect.ANY, culprit, in, "perplexity", "-m", model.toString(), "-f", f.toString(), "-c", "16",
                            "-t", "1");
                }
                default -> h.check("fuzz", name, Expect.ANY, culprit, in, "tokenize", "-m", model.toString(), "--chat", f.toString());
            }
            Files.delete(f);
            n++;
        }
        System.out.printf("hostile fuzz: seed %d, %.0f s budget, %d mutated inputs; %s%n", seed, budget, n, h.summary());
        assertTrue(h.failures.isEmpty(), h.failureReport(30));
    }

    /** 1-4 random edits: byte and bit flips, interesting integers over 4/8-byte fields, insertions, deletions, truncation. */
    static byte[] mutate(byte[] in, Random r) {
        long[] interesting = {0, 1, 2, 7, 8, 16, 31, 32, 255, 256, 65535, 0x7FFF_FFFFL, 0x8000_0000L, 0xFFFF_FFFFL, 1L << 32,
            1L << 62, Long.MAX_VALUE, -1, -2};
        byte[] b = in.clone();
        int rounds = 1 + r.nextInt(4);
        for (int k = 0; k < rounds && b.length > 8; k++) {
            switch (r.nextInt(6)) {
                case 0 -> b[r.nextInt(b.length)] = (byte) r.nextInt(256);
                case 1 -> b[r.nextInt(b.length)] ^= (byte) (1 << r.nextInt(8));
                case 2 -> {
                    int w = r.nextBoolean() ? 4 : 8, at = r.nextInt(b.length - w) & ~3;
                    HostileCases.write(b, at, w, interesting[r.nextInt(interesting.length)]);
                }
                case 3 -> b = java.util.Arrays.copyOf(b, r.nextInt(b.length));
                case 4 -> {
                    int at = r.nextInt(b.length), len = 1 + r.nextInt(16);
                    byte[] c = new byte[b.length + len];
                    System.arraycopy(b, 0, c, 0, at);
                    for (int i = 0; i < len; i++) c[at + i] = (byte) r.nextInt(256);
                    System.arraycopy(b, at, c, at + len, b.length - at);
                    b = c;
                }
                default -> {
                    int at = r.nextInt(b.length), len = Math.min(b.length - at, 1 + r.nextInt(16));
                    byte[] c = new byte[b.length - len];
                    System.arraycopy(b, 0, c, 0, at);
                    System.arraycopy(b, at + len, c, at, b.length - at - len);
                    b = c;
                }
            }
        }
        return b;
    }
}
