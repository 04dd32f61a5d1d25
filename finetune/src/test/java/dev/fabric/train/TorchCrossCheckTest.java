package dev.fabric.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link TorchCrossCheck} with src/test/python/torch_crosscheck.py: 200 steps of our AdamW (warmup-cosine, clipping)
 * replayed by torch.optim.AdamW on the same raw gradients, and our PEFT files through peft and back. Runs when a
 * Python with tests/python/requirements.txt is at hand ({@code FABRIC_PYTHON}, else the venv .ci/run makes,
 * {@code ~/.cache/fabric/pyvenv}); skipped, saying so, otherwise.
 */
class TorchCrossCheckTest {
    @TempDir
    Path dir;

    @Test
    void adamWAndPeftFilesAgreeWithTorch() throws Exception {
        String env = System.getenv("FABRIC_PYTHON");
        Path venv = Path.of(System.getProperty("user.home"), ".cache", "fabric", "pyvenv", "bin", "python");
        Path python = env != null && !env.isBlank() ? Path.of(env) : Files.isExecutable(venv) ? venv : null;
        if (python == null) System.out.println("TorchCrossCheckTest skipped: no Python with torch (FABRIC_PYTHON, or " + venv + ")");
        Assumptions.assumeTrue(python != null, "no Python with torch (set FABRIC_PYTHON, or let .ci/run make " + venv + ")");
        Path probe = dir.resolve("probe.log");
        boolean ok = run(List.of(python.toString(), "-c", "import torch, transformers, peft, safetensors"), probe) == 0;
        if (!ok) System.out.println("TorchCrossCheckTest skipped: " + python + " lacks torch/transformers/peft/safetensors");
        Assumptions.assumeTrue(ok, python + " lacks torch/transformers/peft/safetensors");

        TorchCrossCheck.write(dir, 1.0);
        Path log = dir.resolve("python.log");
        int rc = run(List.of(python.toString(), Path.of("src/test/python/torch_crosscheck.py").toAbsolutePath().toString(),
                dir.toString()), log);
        assertEquals(0, rc, "torch_crosscheck.py:\n" + Files.readString(log, StandardCharsets.UTF_8));
        JsonNode r = new ObjectMapper().readTree(dir.resolve("result.json").toFile());
        System.out.println("torch_crosscheck.py: " + r);
        // The schedule is computed in double on both sides.
        assertTrue(r.path("lr_diff").asDouble() < 1e-12, r.toString());
        // Global norms of float32 gradients summed in different orders: float32 rounding (~1e-7).
        assertTrue(r.path("grad_norm_rel_diff").asDouble() < 1e-5, r.toString());
        // 200 updates of size ~lr = 1e-3 on values ~0.5: each update's float32 rounding (~6e-8) may differ in order;
        // measured 3e-8 at most.
        assertTrue(r.path("final_max_abs_diff").asDouble() < 1e-6, r.toString());
        assertEquals(r.path("peft_file_tensors").asInt(), r.path("peft_loaded_unchanged").asInt(), r.toString());
        assertEquals(TorchCrossCheck.adapterTensors(), TorchCrossCheck.readPeft(dir),
                "PeftAdapter.read of PEFT's save_pretrained output equals what we wrote, bit for bit");
    }

    private static int run(List<String> cmd, Path log) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("HF_HUB_OFFLINE", "1");
        Process p = pb.start();
        if (!p.waitFor(600, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(String.join(" ", cmd) + ": still running after 600 s");
        }
        return p.exitValue();
    }
}
