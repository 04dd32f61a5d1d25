package dev.fabric.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The NEON engine kernels (fabric_matmul_neon.inc, fabric_matmul_kquants_neon.inc) cannot run on the x86 build
 * machines, so this test cross-compiles the engine with src/test/cpp/neon_ops_check.cpp for AArch64 and runs
 * it under qemu-aarch64: K-quant matmuls must equal the portable kernels bit for bit, dense ones within a few
 * ulps. Skipped, saying so, where the cross compiler or the emulator is not installed.
 */
class NeonCrossTest {
    @TempDir
    Path dir;

    private static Path onPath(String tool) {
        for (String d : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            Path p = Path.of(d, tool);
            if (Files.isExecutable(p)) return p;
        }
        return null;
    }

    private static String run(List<String> cmd, Path dir) throws Exception {
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(300, TimeUnit.SECONDS), "timed out: " + cmd);
        String text = new String(out, StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), String.join(" ", cmd) + "\n" + text);
        return text;
    }

    @Test
    void neonKernels_matchThePortableOnes_underQemu() throws Exception {
        Path gxx = onPath("aarch64-linux-gnu-g++"), qemu = onPath("qemu-aarch64");
        assumeTrue(gxx != null && qemu != null,
                "needs aarch64-linux-gnu-g++ and qemu-aarch64 on PATH to check the NEON kernels (not installed)");
        Path src = Path.of("src/main/cpp").toAbsolutePath(), test = Path.of("src/test/cpp").toAbsolutePath();
        Path exe = dir.resolve("neon_check");
        run(List.of(gxx.toString(), "-std=c++17", "-O2", "-ffp-contract=off", "-fno-math-errno", "-pthread", "-static",
                "-I" + src, test.resolve("neon_ops_check.cpp").toString(), src.resolve("fabric_ops.cpp").toString(),
                src.resolve("fabric_quant_dequant.cpp").toString(), "-o", exe.toString()), dir);
        String out = run(List.of(qemu.toString(), exe.toString()), dir);
        System.out.print(out);
        assertTrue(out.contains("NEON CHECK PASSED"), out);
        assertTrue(out.lines().filter(l -> l.contains(" neon ") && l.endsWith("bitwise)")).count() >= 12, out);
    }
}
