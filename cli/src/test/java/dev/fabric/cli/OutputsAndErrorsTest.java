package dev.fabric.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.fabric.FabricException;
import dev.fabric.testing.SharedRef;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's "Outputs and errors" rules, command by command: no output over an input, a link or a special file;
 * nothing left behind by a failed, stopped or killed run; every failure one message and one of the exit codes 2, 3,
 * 4, 70, with no stack trace unless FABRIC_DEBUG=1; numeric options refused at the edge with their limits.
 */
class OutputsAndErrorsTest {
    @TempDir
    Path dir;

    private Path copyOfModel() throws IOException {
        Path m = dir.resolve("model.gguf");
        Files.copy(SharedRef.require("models/qwen3-micro-f16.gguf"), m);
        return m;
    }

    private Path calib() throws IOException {
        return Files.writeString(dir.resolve("calib.txt"), "The quick brown fox jumps over the lazy dog. ".repeat(200));
    }

    private List<String> names() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    private static void refused(Run r, int code, String... parts) {
        assertEquals(code, r.rc(), r.err());
        for (String p : parts) assertTrue(r.err().contains(p), "'" + p + "' not in:\n" + r.err());
        assertFalse(r.err().contains("\tat "), "stack trace without FABRIC_DEBUG:\n" + r.err());
    }

    // ---- outputs ----

    @Test
    void imatrixAndPerplexityRefuseToOverwriteTheModel() throws IOException {
        Path model = copyOfModel();
        Path text = calib();
        byte[] before = Files.readAllBytes(model);
        refused(Run.of("imatrix", "-m", model.toString(), "-f", text.toString(), "-c", "64", "--chunks", "1", "-o",
                model.toString()), 2, "same file as the input", model.toString());
        refused(Run.of("perplexity", "-m", model.toString(), "-f", text.toString(), "-c", "64", "--chunks", "2",
                "--kl-divergence-base", model.toString()), 2, "same file as the input");
        Path hard = Files.createLink(dir.resolve("hard.gguf"), model);
        refused(Run.of("imatrix", "-m", model.toString(), "-f", text.toString(), "-c", "64", "-o", hard.toString(),
                "--format", "dat"), 2, "hard.gguf", "model.gguf");
        Path sym = Files.createSymbolicLink(dir.resolve("sym.gguf"), model.getFileName());
        refused(Run.of("quantize", model.toString(), sym.toString(), "Q8_0"), 2, "sym.gguf", "model.gguf");
        refused(Run.of("perplexity", "-m", model.toString(), "-f", text.toString(), "-c", "64",
                "--kl-divergence-base", text.toString()), 2, "calib.txt");
        assertArrayEquals(before, Files.readAllBytes(model));
        assertEquals(List.of("calib.txt", "hard.gguf", "model.gguf", "sym.gguf"), names());
    }

    @Test
    void outputLinksAndSpecialFilesAreRefused() throws Exception {
        Path model = SharedRef.require("models/qwen3-micro-f16.gguf");
        Path other = Files.writeString(dir.resolve("other.gguf"), "keep");
        Path link = Files.createSymbolicLink(dir.resolve("link.gguf"), other.getFileName());
        refused(Run.of("quantize", model.toString(), link.toString(), "Q8_0"), 2, "symbolic link");
        assertTrue(Files.isSymbolicLink(link));
        assertEquals("keep", Files.readString(other));
        Path fifo = dir.resolve("fifo.gguf");
        assumeTrue(new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor() == 0, "no mkfifo");
        refused(Run.of("quantize", model.toString(), fifo.toString(), "Q8_0"), 2, "not a regular file");
        refused(Run.of("imatrix", "-m", model.toString(), "-f", calib().toString(), "-o", "/dev/null"), 2,
                "/dev/null", "not a regular file");
        assertTrue(Files.exists(fifo) && !Files.isRegularFile(fifo));
        refused(Run.of("quantize", model.toString(), dir.toString(), "Q8_0"), 2, "is a folder");
    }

    /** A run killed outright (SIGKILL) leaves its temporary; the next run into that folder removes it. */
    @Test
    void killedQuantizeLeavesATemporaryThatTheNextRunRemoves() throws Exception {
        Path in = SharedRef.require("models/llama-spm-256x8-f16.gguf");
        Path out = dir.resolve("killed.gguf");
        Process p = fabric(Map.of(), "quantize", in.toString(), out.toString(), "IQ4_NL", "1")
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        Path temp = awaitTemporary(p);
        p.destroyForcibly().waitFor(); // SIGKILL: no shutdown hook runs
        assumeTrue(temp != null && Files.exists(temp), "the run finished before it could be killed");
        assertFalse(Files.exists(out));
        Run next = Run.of("quantize", in.toString(), dir.resolve("next.gguf").toString(), "Q8_0", "2");
        assertEquals(0, next.rc(), next.err());
        assertTrue(next.err().contains("removed " + temp) && next.err().contains("interrupted run"), next.err());
        assertEquals(List.of("next.gguf"), names());
    }

    /** SIGTERM (as Ctrl-C): the temporary is deleted and one line says so. */
    @Test
    void stoppedQuantizeRemovesItsTemporaryAndSaysSo() throws Exception {
        Path in = SharedRef.require("models/llama-spm-256x8-f16.gguf");
        // output to a file: Process.destroy() closes our ends of its pipes, and the last line would be lost
        Path logFile = Files.createTempFile("fabric-stopped", ".log");
        try {
            Process p = fabric(Map.of(), "quantize", in.toString(), dir.resolve("stopped.gguf").toString(), "IQ4_NL",
                    "1").redirectErrorStream(true).redirectOutput(logFile.toFile()).start();
            Path temp = awaitTemporary(p);
            p.destroy(); // SIGTERM
            int code = p.waitFor();
            assumeTrue(temp != null && code != 0, "the run finished before it could be stopped");
            String log = Files.readString(logFile);
            assertTrue(log.contains("stopped before finishing") && log.contains("stopped.gguf"),
                    "exit " + code + ", left " + names() + ":\n" + log);
        } finally {
            Files.deleteIfExists(logFile);
        }
        assertEquals(List.of(), names());
    }

    private Path awaitTemporary(Process p) throws Exception {
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (p.isAlive() && System.nanoTime() < deadline) {
            try (Stream<Path> s = Files.list(dir)) {
                var t = s.filter(f -> f.getFileName().toString().contains(".fabric-tmp-")).findFirst();
                // some bytes written: the output is open and registered, its header on disk
                if (t.isPresent() && sizeOf(t.get()) > 0) return t.get();
            }
            Thread.sleep(5);
        }
        return null;
    }

    private static long sizeOf(Path p) {
        try {
            return Files.size(p);
        } catch (IOException e) {
            return 0;
        }
    }

    /** The CLI in a child JVM (this test's class path), with FABRIC_DEBUG cleared unless {@code env} sets it. */
    private static ProcessBuilder fabric(Map<String, String> env, String... args) {
        List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"),
                "--enable-native-access=ALL-UNNAMED", "--add-opens=java.base/java.nio=ALL-UNNAMED", "-Xss8m"));
        if (env.containsKey("XMX")) cmd.add("-Xmx" + env.get("XMX"));
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), "dev.fabric.cli.Main"));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().remove("FABRIC_DEBUG");
        env.forEach((k, v) -> {
            if (!k.equals("XMX")) pb.environment().put(k, v);
        });
        return pb;
    }

    // ---- error policy ----

    @Test
    void outOfMemoryIsExitCode4WithAdviceAndNoStackTrace() throws Exception {
        Path model = SharedRef.require("models/qwen3-micro-f16.gguf");
        Process p = fabric(Map.of("XMX", "12m"), "generate", "-m", model.toString(), "-p", "hi", "-n", "2")
                .redirectErrorStream(true).start();
        String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(FabricException.EXIT_IO, p.waitFor(), text);
        assertTrue(text.contains("out of memory") && text.contains("-Xmx"), text);
        assertFalse(text.contains("\tat "), text);
    }

    @Test
    void internalErrorsAreExit70WithAStackTraceOnlyOnRequest() {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int code = ErrorHandler.report(new IllegalStateException("boom"), "fabric x", new PrintStream(b, true));
        String s = b.toString(StandardCharsets.UTF_8);
        assertEquals(FabricException.EXIT_INTERNAL, code);
        assertTrue(s.contains("internal error") && s.contains("boom") && s.contains("FABRIC_DEBUG=1"), s);
        assertEquals(ErrorHandler.debug(), s.contains("\tat "), s);
        b.reset();
        assertEquals(FabricException.EXIT_IO, ErrorHandler.report(new OutOfMemoryError("Java heap space"), "fabric x",
                new PrintStream(b, true)));
        b.reset();
        assertEquals(FabricException.EXIT_IO, ErrorHandler.report(new RuntimeException("std::bad_alloc"), "fabric x",
                new PrintStream(b, true)));
        assertTrue(b.toString(StandardCharsets.UTF_8).contains("out of memory"));
        b.reset();
        assertEquals(FabricException.EXIT_INPUT, ErrorHandler.report(new java.nio.charset.MalformedInputException(1),
                "fabric x", new PrintStream(b, true)));
        assertTrue(b.toString(StandardCharsets.UTF_8).contains("not valid UTF-8"));
    }

    @Test
    void commandLineMistakesAreExitCode2() {
        refused(Run.of("generate", "-m", "x.gguf", "-t", "abc"), 2, "'abc'", "--help");
        refused(Run.of("no-such-command"), 2, "no-such-command");
        refused(Run.of("quantize", "--no-such-option", "a.gguf", "Q8_0"), 2, "--no-such-option");
    }

    @Test
    void badUtf8TextIsExitCode3() throws IOException {
        Path model = SharedRef.require("models/qwen3-micro-f16.gguf");
        Path bad = Files.write(dir.resolve("bad.txt"), new byte[] {'a', 'b', (byte) 0xff, (byte) 0xfe, 'c'});
        refused(Run.of("perplexity", "-m", model.toString(), "-f", bad.toString(), "-c", "64"), 3, "UTF-8");
    }

    // ---- numeric options ----

    @Test
    void hugeThreadCountsAreRefusedBeforeAnyWork() throws IOException {
        Path model = SharedRef.require("models/qwen3-micro-f16.gguf");
        String max = "" + Limits.maxThreads();
        refused(Run.of("quantize", model.toString(), dir.resolve("q.gguf").toString(), "Q8_0", "100000"), 2,
                "THREADS", max, "100000");
        refused(Run.of("quantize", "--threads", "-3", model.toString(), dir.resolve("q.gguf").toString(), "Q8_0"), 2,
                "--threads");
        refused(Run.of("generate", "-m", model.toString(), "-p", "hi", "-t", "100000"), 2, "--threads", max);
        refused(Run.of("bench", "model", "-m", model.toString(), "-t", "99999"), 2, "--threads");
        assertEquals(List.of(), names());
    }

    @Test
    void hugeContextsAreRefusedWithTheLimit() throws IOException {
        Path model = SharedRef.require("models/qwen3-micro-f16.gguf");
        refused(Run.of("generate", "-m", model.toString(), "-p", "hi", "--ctx", "2147483647"), 2, "4096",
                "n_ctx_train", "--ctx-beyond-training");
        refused(Run.of("generate", "-m", model.toString(), "-p", "hi", "--ctx", "2147483647", "--ctx-beyond-training"),
                2, "GiB", "memory");
        refused(Run.of("perplexity", "-m", model.toString(), "-f", calib().toString(), "-c", "2147483647"), 2,
                "n_ctx_train");
        refused(Run.of("imatrix", "-m", model.toString(), "-f", calib().toString(), "-c", "100000",
                "-o", dir.resolve("i.gguf").toString()), 2, "n_ctx_train");
        refused(Run.of("perplexity", "-m", model.toString(), "-f", calib().toString(), "-c", "1"), 2, "--ctx", "4");
    }

    @Test
    void samplingAndCountOptionsStateTheirRange() {
        String m = "x.gguf"; // refused before the model is opened
        refused(Run.of("generate", "-m", m, "--temp", "NaN"), 2, "--temp");
        refused(Run.of("generate", "-m", m, "--temp", "-1"), 2, "--temp", "at least 0");
        refused(Run.of("generate", "-m", m, "--top-p", "7"), 2, "--top-p", "at most 1");
        refused(Run.of("generate", "-m", m, "--min-p", "1.5"), 2, "--min-p");
        refused(Run.of("generate", "-m", m, "--top-k", "-2"), 2, "--top-k");
        refused(Run.of("generate", "-m", m, "--repeat-penalty", "0"), 2, "--repeat-penalty");
        refused(Run.of("generate", "-m", m, "--repeat-last-n", "-7"), 2, "--repeat-last-n");
        refused(Run.of("generate", "-m", m, "--presence-penalty", "Infinity"), 2, "--presence-penalty");
        refused(Run.of("generate", "-m", m, "-n", "-1"), 2, "-n");
        refused(Run.of("perplexity", "-m", m, "-f", "t.txt", "-b", "0"), 2, "--batch");
        refused(Run.of("perplexity", "-m", m, "-f", "t.txt", "--chunks", "-5"), 2, "--chunks");
        refused(Run.of("imatrix", "-m", m, "-f", "t.txt", "-ub", "0"), 2, "--ubatch");
        refused(Run.of("inspect", "--max-array", "-1", m), 2, "--max-array");
    }

    /**
     * The system refusing threads (here: 4 GB thread stacks under a 24 GB address-space limit, so only a few fit)
     * must not abort the process: the kernels run on the threads they got. Before, this was "terminate called"
     * and exit code 134.
     */
    @Test
    void threadsTheSystemRefusesAreNotAnAbort() throws Exception {
        String java = ProcessHandle.current().info().command().orElse("java");
        Process p = new ProcessBuilder("bash", "-c", "ulimit -s 4000000 && ulimit -v 24000000 && exec \"$0\" "
                + "--enable-native-access=ALL-UNNAMED -Xmx1g -XX:ReservedCodeCacheSize=64m -XX:MaxMetaspaceSize=128m "
                + "-cp \"$1\" dev.fabric.cli.Main bench quantize --types Q8_0 --rows 64 --threads 8", java,
                System.getProperty("java.class.path")).redirectErrorStream(true).start();
        String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        int code = p.waitFor();
        assumeTrue(text.contains("weights per run"), "the JVM does not start under these limits here:\n" + text);
        assertEquals(0, code, text);
        assertTrue(text.contains("Q8_0"), text);
    }

    // ---- progress ----

    /** stderr here is not a terminal: no bar (no carriage returns), plain progress lines instead. */
    @Test
    void noProgressBarWhenStderrIsNotATerminal() throws IOException {
        Path model = SharedRef.require("models/qwen3-micro-f16.gguf");
        Run r = Run.of("quantize", model.toString(), dir.resolve("q.gguf").toString(), "Q8_0", "2");
        assertEquals(0, r.rc(), r.err());
        assertFalse(r.err().contains("\r"), r.err());
        assertTrue(r.err().contains("quantize Q8_0: 24 tensors"), r.err());
    }
}
