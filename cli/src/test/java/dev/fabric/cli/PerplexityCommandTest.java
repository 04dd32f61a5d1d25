package dev.fabric.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fabric.testing.RefParity;
import dev.fabric.testing.SharedRef;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code fabric perplexity} against llama-perplexity's printed values (engine/expected.json) and the KL-divergence
 * mode: a model against itself, and llama-quantize's Q4_K_M of stories260K against its F32 original.
 */
class PerplexityCommandTest {
    @TempDir
    Path dir;

    private static final Pattern CHUNK = Pattern.compile("\\[(\\d+)\\]([0-9.]+),");
    private static final Pattern FINAL = Pattern.compile("Final estimate: PPL = ([0-9.]+) \\+/- ([0-9.]+)");

    private static JsonNode expected() throws Exception {
        return new ObjectMapper().readTree(SharedRef.require("engine/expected.json").toFile()).get("stories260K");
    }

    private static String stories() {
        return SharedRef.require("engine/stories260K.gguf").toString();
    }

    private static String story() {
        return SharedRef.require("engine/story.txt").toString();
    }

    @Test
    @Tag("parity-small")  // also run with the portable kernels (pom: parity-generic)
    void stories260K_printsLlamaPerplexitysRunningValues() throws Exception {
        JsonNode ref = expected();
        // -b 16: four forward calls per chunk through the KV cache, the same numbers as one call
        Run r = Run.of("perplexity", "-m", stories(), "-f", story(), "-c", "64", "-b", "16");
        assertEquals(0, r.rc(), r.err());
        Matcher m = CHUNK.matcher(r.out());
        int i = 0;
        while (m.find()) {
            assertEquals(i + 1, Integer.parseInt(m.group(1)));
            // the bound of the engine's ParityTest: llama-perplexity prints 4 decimals and rounds through F16 KV
            double want = ref.get("running_ppl_by_chunk").get(i).asDouble();
            assertEquals(want, Double.parseDouble(m.group(2)), pplTolerance(want), "chunk " + (i + 1));
            i++;
        }
        assertEquals(ref.get("running_ppl_by_chunk").size(), i, "chunks printed:\n" + r.out());
        Matcher f = FINAL.matcher(r.lastLine());
        assertTrue(f.matches(), r.lastLine());
        assertEquals(ref.get("final_ppl").asDouble(), Double.parseDouble(f.group(1)), pplTolerance(ref.get("final_ppl").asDouble()));
        double err = Double.parseDouble(f.group(2));
        // the uncertainty is ppl * stderr(nll); nll per token of a 3-ppl model spreads ~1 nat over 217 tokens
        assertTrue(err > 0.05 && err < 0.5, "+/- " + err);
    }

    /**
     * Printed perplexities (4 decimals, ours and llama-perplexity's): both roundings where our kernels follow the
     * reference build's arithmetic (AVX-512), else also one F16 ulp relative (RefParity, ParityTest).
     */
    private static double pplTolerance(double ppl) {
        return 1e-4 + 1e-9 + (RefParity.exact() ? 0 : RefParity.LOG_PPL * ppl);
    }

    /** The synthetic qwen3 with the adapter trained by llama.cpp's fork: log(ppl) per chunk within 0.1%. */
    @Test
    void qwen3WithLora_matchesLlamaPerplexity() throws Exception {
        JsonNode ref = new ObjectMapper().readTree(SharedRef.require("engine/expected.json").toFile())
                .get("qwen3-spm-parity-f16+qwen3-spm-parity-lora").get("running_ppl_by_chunk");
        Run r = Run.of("perplexity", "-m", SharedRef.require("engine/qwen3-spm-parity-f16.gguf").toString(), "--lora",
                SharedRef.require("engine/qwen3-spm-parity-lora.gguf").toString(), "-f",
                SharedRef.require("engine/ppl.txt").toString(), "-c", "128", "-b", "128");
        assertEquals(0, r.rc(), r.err());
        Matcher m = CHUNK.matcher(r.out());
        int i = 0;
        while (m.find()) {
            double want = Math.log(ref.get(i).asDouble()), got = Math.log(Double.parseDouble(m.group(2)));
            assertEquals(want, got, 1e-3 * want, "chunk " + (i + 1));
            i++;
        }
        assertEquals(ref.size(), i);
    }

    /**
     * --kl-divergence-base writes llama-perplexity's file and --kl-divergence prints its statistics. Reference:
     * {@code llama-perplexity -m stories260K.gguf -f story.txt -c 64 -b 64 -t 2 --kl-divergence-base B}, then
     * {@code llama-perplexity -m stories260K.Q4_K_M.imat.gguf --kl-divergence-base B --kl-divergence} (llama.cpp
     * build 57d4c984, CPU, AVX-512 host), whose closing sections printed the lines below. On AVX-512 our logits are
     * llama.cpp's bits, so every line must be the same. Other kernel variants move every probability by a fraction
     * of an F16 ulp (RefParity): Δp statistics (mean, median, RMS: each moves by at most as much as every input
     * does) within 2^-11 = 0.049 percentage points; the others within 2% + 1e-3.
     */
    @Test
    @Tag("parity-small")  // also run with the portable kernels (pom: parity-generic)
    void klDivergence_printsLlamaPerplexityStatistics() throws Exception {
        Path base = dir.resolve("base.logits");
        Run w = Run.of("perplexity", "-m", stories(), "-f", story(), "-c", "64", "--kl-divergence-base", base.toString());
        assertEquals(0, w.rc(), w.err());
        try (var files = java.nio.file.Files.list(dir)) {
            assertEquals(List.of(base), files.toList(), "only the finished file, no temporary left");
        }
        // the layout: header, tokens, then 7 chunks x 31 scored rows of (4 + 512) uint16
        assertEquals(20 + 4 * 7 * 64 + 7 * 31 * 2 * (4 + 512), java.nio.file.Files.size(base));

        Run self = Run.of("perplexity", "-m", stories(), "--kl-divergence-base", base.toString(), "--kl-divergence");
        assertEquals(0, self.rc(), self.err());
        // the base file's 16-bit log-probs against the exact ones: KL ~1e-6, the same top token everywhere
        assertTrue(value(self.out(), "Mean    KLD:") < 1e-5, self.out());
        assertEquals(100.0, value(self.out(), "Same top p:"), 1e-9);

        Run q = Run.of("perplexity", "-m", SharedRef.require("quant/stories260K.Q4_K_M.imat.gguf").toString(),
                "--kl-divergence-base", base.toString(), "--kl-divergence");
        assertEquals(0, q.rc(), q.err());
        System.out.println(q.out());
        String[][] want = {
            {"Mean PPL(Q)                   :", "3.031878"}, {"Mean PPL(base)                :", "2.994243"},
            {"Cor(ln(PPL(Q)), ln(PPL(base))):", "99.56"}, {"Mean ln(PPL(Q)/PPL(base))     :", "0.012490"},
            {"Mean    KLD:", "0.012245"}, {"Maximum KLD:", "0.175625"}, {"99.9%   KLD:", "0.163903"},
            {"Median  KLD:", "0.007049"}, {"Minimum KLD:", "0.000000"}, {"Mean    Δp:", "-0.367"},
            {"Median  Δp:", "-0.066"}, {"RMS Δp    :", "3.540"}, {"Same top p:", "94.009"}};
        boolean exact = RefParity.exact();
        for (String[] l : want) {
            double got = value(q.out(), l[0]), ref = Double.parseDouble(l[1]);
            if (exact) assertEquals(l[1], String.format(java.util.Locale.ROOT, "%." + (l[1].length() - l[1].indexOf('.') - 1) + "f", got), l[0]);
            else if (l[0].contains("Δp")) assertEquals(ref, got, 100 * RefParity.F16_ULP, l[0]);
            else assertEquals(ref, got, 0.02 * Math.abs(ref) + 1e-3, l[0]);
        }
        Matcher f = FINAL.matcher(q.lastLineMatching("Final estimate"));
        assertTrue(f.find());
        assertEquals(expected().get("Q4_K_M_imat_final_ppl").asDouble(), Double.parseDouble(f.group(1)), 2e-3);
    }

    @Test
    void textShorterThanTwoContexts_isAClearError() {
        Run r = Run.of("perplexity", "-m", stories(), "-f", story(), "-c", "512", "--ctx-beyond-training");
        assertEquals(3, r.rc());
        assertTrue(r.err().contains("needs at least 1024"), r.err());
    }

    private static double value(String out, String label) {
        for (String l : out.lines().toList())
            if (l.startsWith(label)) return Double.parseDouble(l.substring(label.length()).trim().split("[ ±%]")[0]);
        throw new AssertionError("no '" + label + "' in\n" + out);
    }
}
