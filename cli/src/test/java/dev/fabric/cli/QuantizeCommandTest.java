package dev.fabric.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fabric.FabricException;
import dev.fabric.gguf.GgmlType;
import dev.fabric.gguf.GgufFile;
import dev.fabric.quant.pipeline.QuantizeRequest;
import dev.fabric.quant.preset.Preset;
import dev.fabric.testing.SharedRef;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class QuantizeCommandTest {
    @TempDir
    Path dir;

    private static QuantizeCommand parsed(String... args) {
        QuantizeCommand c = new QuantizeCommand();
        new CommandLine(c).parseArgs(args);
        return c;
    }

    @Test
    void positionalArgumentsInLlamaQuantizeOrder() {
        QuantizeRequest r = parsed("--imatrix", "x/im.dat", "--exclude-weights", "ffn_down", "--output-tensor-type",
                "q8_0", "--pure", "a/in.gguf", "b/out.gguf", "q4_k", "3").parse();
        assertEquals(Path.of("a/in.gguf"), r.input());
        assertEquals(Path.of("b/out.gguf"), r.output());
        assertEquals(Preset.Q4_K_M, r.preset());
        assertEquals(3, r.threads());
        assertEquals("x/im.dat", r.imatrixArg());
        assertEquals(List.of("ffn_down"), r.excludeWeights());
        assertEquals(GgmlType.Q8_0, r.outputTensorType());
        assertTrue(r.pure());
        // OUT left out: ggml-model-<TYPE>.gguf beside IN
        QuantizeRequest d = parsed("a/in.gguf", "Q5_K", "2").parse();
        assertEquals(Path.of("a/ggml-model-Q5_K_M.gguf").toAbsolutePath(), d.output());
        assertEquals(2, d.threads());
    }

    private record Run(int code, String err) {}

    private static Run run(String... args) {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        PrintStream old = System.err;
        System.setErr(new PrintStream(buf, true, StandardCharsets.UTF_8));
        try {
            int code = Main.commandLine().execute(args);
            return new Run(code, buf.toString(StandardCharsets.UTF_8));
        } finally {
            System.setErr(old);
        }
    }

    @Test
    void quantizesWithProgressAndSummary() throws IOException {
        Path in = SharedRef.require("models/qwen3-micro-f16.gguf");
        Path im = SharedRef.require("imatrix/qwen3-micro-f16.imatrix.gguf");
        Path out = dir.resolve("q.gguf");
        Run r = run("quantize", "--imatrix", im.toString(), in.toString(), out.toString(), "Q4_K_M", "2");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("Q5_0") && r.err().contains("bpw out") && r.err().contains("total"), r.err());
        try (GgufFile g = GgufFile.open(out)) {
            assertEquals(15, g.metadata().getLong("general.file_type"));
            assertEquals(im.toString(), g.metadata().getString("quantize.imatrix.file"));
        }
    }

    @Test
    void usageErrorsExitWith2() {
        Run r = run("quantize", "a.gguf", "b.gguf", "Q9_X");
        assertEquals(FabricException.EXIT_USAGE, r.code());
        assertTrue(r.err().contains("unknown quantization type 'Q9_X'"), r.err());
        Run both = run("quantize", "--imatrix", "m", "--include-weights", "a", "--exclude-weights", "b", "a.gguf",
                "b.gguf", "Q8_0");
        assertEquals(FabricException.EXIT_USAGE, both.code());
    }

    @Test
    void helpHasAnExample() {
        String help = new CommandLine(new Main()).getSubcommands().get("quantize").getUsageMessage();
        assertTrue(help.contains("Example:") && help.contains("--imatrix") && help.contains("Q4_K_M"), help);
    }

    /**
     * A real file-size limit (ulimit -f) in a child JVM: the write fails with EFBIG mid-file, the CLI reports it
     * with exit code 4, and neither OUT nor a temporary file is left in the folder.
     */
    @Test
    void fileSizeLimitMidWriteLeavesNothing() throws Exception {
        Path in = SharedRef.require("models/llama-spm-256x8-f16.gguf");
        Path out = dir.resolve("big.gguf");
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> cmd = new ArrayList<>(List.of("bash", "-c",
                "ulimit -f 4096; exec \"$0\" --enable-native-access=ALL-UNNAMED -cp \"$1\" dev.fabric.cli.Main quantize"
                        + " \"$2\" \"$3\" Q8_0 2", java, System.getProperty("java.class.path"), in.toString(),
                out.toString()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(FabricException.EXIT_IO, p.waitFor(), text);
        assertTrue(text.contains("File too large") && text.contains(out.toString()), text);
        try (Stream<Path> s = Files.list(dir)) {
            assertFalse(s.findAny().isPresent(), "left behind in " + dir);
        }
    }

    /** Interrupted (SIGTERM, as on Ctrl-C or a killed job) while writing: the temporary file is removed too. */
    @Test
    void terminatedRunLeavesNothing() throws Exception {
        Path in = SharedRef.require("models/llama-spm-256x8-f16.gguf");
        Path out = dir.resolve("killed.gguf");
        String java = ProcessHandle.current().info().command().orElse("java");
        Process p = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-cp",
                System.getProperty("java.class.path"), "dev.fabric.cli.Main", "quantize", in.toString(),
                out.toString(), "IQ4_NL", "1").redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .start();
        long deadline = System.nanoTime() + 60_000_000_000L;
        boolean writing = false;
        while (!writing && p.isAlive() && System.nanoTime() < deadline) {
            try (Stream<Path> s = Files.list(dir)) {
                writing = s.anyMatch(f -> f.getFileName().toString().contains(".fabric-tmp-"));
            }
            if (!writing) Thread.sleep(5);
        }
        p.destroy(); // SIGTERM: the JVM runs its shutdown hooks
        int code = p.waitFor();
        org.junit.jupiter.api.Assumptions.assumeTrue(code != 0, "the run finished before it could be stopped");
        assertTrue(writing, "never saw the temporary file");
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(List.of(), s.toList(), "left behind after SIGTERM");
        }
    }
}
