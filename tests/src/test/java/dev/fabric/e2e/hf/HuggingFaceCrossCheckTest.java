package dev.fabric.e2e.hf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fabric.cli.Main;
import dev.fabric.model.Arch;
import dev.fabric.train.Rng;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Fabric against Hugging Face transformers + peft + torch on the same GGUF (issue 11, must-show 3; issue 12,
 * must-show 3), run through tests/python/hf_crosscheck.py when a Python with the packages of
 * tests/python/requirements.txt is at hand: {@code FABRIC_PYTHON}, else the venv .ci/run makes
 * ({@code ~/.cache/fabric/pyvenv}). Without one these tests are skipped, saying so (Python is for tests only).
 *
 * <p>Every numeric check is also run by the script in float64; the tolerances below are set against float32's own
 * distance from that reference (torch in float32 is measured beside Fabric in every result.json).
 */
class HuggingFaceCrossCheckTest {
    static final String REQUIREMENTS = "tests/python/requirements.txt";
    private static Path python;
    private static Path root;

    @TempDir
    Path dir;

    @BeforeAll
    static void findPython() throws Exception {
        root = Path.of(System.getProperty("fabric.repo.root", "..")).toAbsolutePath().normalize();
        String env = System.getenv("FABRIC_PYTHON");
        Path venv = Path.of(System.getProperty("user.home"), ".cache", "fabric", "pyvenv", "bin", "python");
        Path candidate = env != null && !env.isBlank() ? Path.of(env) : Files.isExecutable(venv) ? venv : null;
        skipUnless(candidate != null, "no Python for the Hugging Face cross-checks (set FABRIC_PYTHON to a python "
                + "with " + REQUIREMENTS + ", or let .ci/run make " + venv + ")");
        Path log = Files.createTempFile("fabric-python-probe", ".log");
        try {
            int rc = run(List.of(candidate.toString(), "-c",
                    "import torch, transformers, peft, gguf, safetensors; print(torch.__version__, "
                            + "transformers.__version__, peft.__version__, gguf.__name__)"), log, 180);
            skipUnless(rc == 0, candidate + " lacks the packages of " + REQUIREMENTS + ": " + tail(log));
            System.out.println("Hugging Face cross-checks with " + candidate + ": " + tail(log));
        } finally {
            Files.deleteIfExists(log);
        }
        python = candidate;
    }

    /** Skips the class, saying why on stdout too (surefire's summary shows a skipped @BeforeAll as 0 tests run). */
    private static void skipUnless(boolean ok, String why) {
        if (!ok) System.out.println("HuggingFaceCrossCheckTest skipped: " + why);
        Assumptions.assumeTrue(ok, "skipped: " + why);
    }

    /**
     * Three AdamW steps (constant lr 2e-3, clipping at norm 1, weight decay 0.01) of LoRA on the seven roles of a
     * tiny model, two sequences with different loss masks, the same initial A and B (B nonzero), in Fabric's
     * training engine and in peft + torch.optim.AdamW on the model transformers reads from the same GGUF.
     */
    @ParameterizedTest
    @EnumSource(value = Arch.class, names = {"QWEN3", "LLAMA"})
    void threeLoraStepsEqualPeftAndTorchAdamW(Arch arch) throws Exception {
        HfCases.writeTrainingCase(dir, arch);
        JsonNode r = python("train", dir);
        assertTrue(r.path("peft_loaded_initial_adapter_exactly").asBoolean(), "peft read our initial adapter bit for bit");
        assertEquals(r.at("/target_tokens/fabric").asLong(), r.at("/target_tokens/torch").asLong(), "target tokens");
        // transformers' loss (labels -100 off the mask, its own shift, mean over the batch's labels) is the
        // per-target-token mean; checked against the mean computed by hand in the same run (float32: a few ulps of ~5)
        assertTrue(r.path("hf_loss_vs_manual_masked_mean").asDouble() < 1e-5, "HF loss = masked mean\n" + r);
        // Losses and gradient norms: float32 sums over a few thousand terms; torch float32 is ~2e-7 from float64.
        double loss = r.at("/loss_diff/fabric_vs_torch64/rel").asDouble();
        double norm = r.at("/grad_norm_diff/fabric_vs_torch64/rel").asDouble();
        assertTrue(loss < 1e-5, "loss relative difference " + loss + "\n" + r);
        assertTrue(norm < 1e-5, "gradient norm relative difference " + norm + "\n" + r);
        // LoRA weights after the steps, measured on the update (final - initial): AdamW divides each gradient by
        // its own RMS, so an element's float32 rounding shows at the scale of that element's step, not of the
        // largest gradient; torch float32 itself lands ~1e-4 of the largest update from float64.
        double upd = r.at("/weight_diff/fabric_vs_torch64/update_rel").asDouble();
        double abs = r.at("/weight_diff/fabric_vs_torch64/abs").asDouble();
        assertTrue(upd < 2e-3, "LoRA update relative difference " + upd + "\n" + r);
        assertTrue(abs < 1e-5, "LoRA weights max |diff| " + abs + "\n" + r);
    }

    /** A seeded adapter on all seven roles (GGUF for Fabric, PEFT for peft): llama exercises the q/k permutation. */
    @ParameterizedTest
    @EnumSource(value = Arch.class, names = {"QWEN3", "LLAMA"})
    void peftAdapterLogitsEqualFabrics(Arch arch) throws Exception {
        HfCases.writeSyntheticLogitsCase(dir, arch);
        checkLogits(python("logits", dir));
    }

    /** The PEFT folder {@code fabric tune} writes, on Fabric's own base model, against its GGUF adapter's logits. */
    @Test
    void tunedPeftAdapterOnFabricBaseEqualsFabricsLogits() throws Exception {
        Path base = root.resolve("recipes/models/fabric-base.gguf");
        Assumptions.assumeTrue(Files.isRegularFile(base), "skipped: " + base + " is absent");
        Path recipe = dir.resolve("recipe.yaml");
        Files.writeString(recipe, String.join("\n",
                "model: " + base,
                "data: {train: " + root.resolve("recipes/data/hospital-train.jsonl") + ", valid_fraction: 0.1}",
                "lora: {rank: 8, alpha: 16, targets: [all]}",
                "train: {steps: 3, lr: 0.01, schedule: constant, context: 64, batch: 2, pack: true}",
                "seed: 3",
                "output: out", ""));
        int rc = Main.commandLine().execute("tune", recipe.toString());
        assertEquals(0, rc, "fabric tune");
        Path out = dir.resolve("out");
        HfCases.writeLogitsCase(dir.resolve("cmp"), base, out.resolve("adapter.gguf"), out.resolve("peft"),
                HfCases.tokens(new Rng(3), 1024, 32));
        checkLogits(python("logits", dir.resolve("cmp")));
    }

    private static void checkLogits(JsonNode r) {
        // The adapter must move the logits by far more than the tolerance, or the check would be empty.
        assertTrue(r.at("/adapter_effect/rel").asDouble() > 0.05, "the adapter changes the logits\n" + r);
        // Logits relative to the largest |logit|: float32 matmuls of width <= 512; torch float32 and Fabric both
        // land ~1e-6 from float64, so 2e-5 leaves a 20x margin and still catches any wrong row or scale.
        double base = r.at("/base/fabric_vs_torch64/rel").asDouble();
        double lora = r.at("/lora/fabric_vs_torch64/rel").asDouble();
        assertTrue(base < 2e-5, "base logits relative difference " + base + "\n" + r);
        assertTrue(lora < 2e-5, "logits with the adapter: relative difference " + lora + "\n" + r);
        assertEquals(1.0, r.path("argmax_agree").asDouble(), "argmax of every position\n" + r);
    }

    private JsonNode python(String what, Path folder) throws Exception {
        Path log = folder.resolve("python.log");
        int rc = run(List.of(python.toString(), root.resolve("tests/python/hf_crosscheck.py").toString(), what,
                folder.toString()), log, 900);
        assertEquals(0, rc, "hf_crosscheck.py " + what + " failed:\n" + tail(log));
        JsonNode r = new ObjectMapper().readTree(folder.resolve("result.json").toFile());
        System.out.println("hf_crosscheck.py " + what + " " + folder.getFileName() + ": " + r);
        return r;
    }

    private static int run(List<String> cmd, Path log, long timeoutS) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("FABRIC_PY_THREADS", "2");
        pb.environment().put("HF_HUB_OFFLINE", "1");
        Process p = pb.start();
        if (!p.waitFor(timeoutS, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(String.join(" ", cmd) + ": still running after " + timeoutS + " s");
        }
        return p.exitValue();
    }

    private static String tail(Path log) throws IOException {
        List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 15), lines.size()));
    }
}
