package dev.fabric.quant.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fabric.gguf.GgufFile;
import dev.fabric.gguf.GgufMetadata;
import dev.fabric.gguf.GgufTensorInfo;
import dev.fabric.quant.preset.Preset;
import dev.fabric.quant.preset.RefManifest;
import dev.fabric.quant.preset.RefManifest.RefOutput;
import dev.fabric.quant.preset.RefManifest.RefTensor;
import dev.fabric.testing.SharedRef;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * imatrix handling around the kernels, checked against the reference outputs with and without imatrix: a tensor
 * whose entry is filtered out must come out exactly as llama-quantize's no-imatrix file has it.
 */
class QuantizeImatrixTest {
    @TempDir
    Path dir;

    private static RefOutput ref(String file) {
        return RefManifest.outputs().stream().filter(o -> o.file().equals(file)).findFirst().orElseThrow();
    }

    private static Map<String, String> shas(RefOutput r) {
        return r.tensors().stream().collect(Collectors.toMap(RefTensor::name, RefTensor::sha256));
    }

    private static QuantizeRequest withFilters(Path model, Path out, Path im, List<String> inc, List<String> exc) {
        return new QuantizeRequest(model, out, Preset.Q4_K_M, 2, im, "calib/" + im.getFileName(), inc, exc, null, null,
                false, false, false);
    }

    @Test
    void excludedEntriesTakeTheReferencePath() throws IOException {
        RefOutput with = ref("llama-spm-256x8-f16.Q4_K_M.imat.gguf");
        RefOutput without = ref("llama-spm-256x8-f16.Q4_K_M.gguf");
        Path out = dir.resolve("ex.gguf");
        QuantizePipeline.run(withFilters(with.inputModel(), out, with.imatrixFile(), List.of(), List.of("ffn_down")),
                QuantizeListener.NONE);
        Map<String, String> a = shas(with);
        Map<String, String> b = shas(without);
        try (GgufFile g = GgufFile.open(out)) {
            GgufMetadata md = g.metadata();
            assertEquals(56 - 8, md.getLong("quantize.imatrix.entries_count"));
            assertEquals("calib/llama-spm-256x8-f16.imatrix.gguf", md.getString("quantize.imatrix.file"));
            assertEquals(16, md.getLong("quantize.imatrix.chunks_count"));
            int quantized = 0;
            for (GgufTensorInfo t : g.tensors()) {
                String sha = QuantizeParityTest.sha256(g.data(t).asByteBuffer());
                boolean refPath = t.name().contains("ffn_down") || t.name().equals("token_embd.weight");
                assertEquals(refPath ? b.get(t.name()) : a.get(t.name()), sha, t.name());
                if (t.type().isQuantized() && !refPath) quantized++;
            }
            assertEquals(8 * 6, quantized, "tensors quantized with their imatrix entry");
            // the filtered imatrix changes the data: the two reference files differ for these tensors
            assertFalse(a.get("blk.0.ffn_down.weight").equals(b.get("blk.0.ffn_down.weight")));
        }
    }

    @Test
    void includeKeepsOnlyMatchingEntries() throws IOException {
        RefOutput with = ref("llama-spm-256x8-f16.Q4_K_M.imat.gguf");
        RefOutput without = ref("llama-spm-256x8-f16.Q4_K_M.gguf");
        Path out = dir.resolve("inc.gguf");
        QuantizePipeline.run(withFilters(with.inputModel(), out, with.imatrixFile(), List.of("blk.0.", "blk.7."),
                List.of()), QuantizeListener.NONE);
        try (GgufFile g = GgufFile.open(out)) {
            assertEquals(14, g.metadata().getLong("quantize.imatrix.entries_count"));
            for (GgufTensorInfo t : g.tensors()) {
                boolean used = t.name().startsWith("blk.0.") || t.name().startsWith("blk.7.");
                assertEquals((used ? shas(with) : shas(without)).get(t.name()),
                        QuantizeParityTest.sha256(g.data(t).asByteBuffer()), t.name());
            }
        }
    }

    /** An imatrix that the filters leave empty is no imatrix at all: the file is the plain llama-quantize one. */
    @Test
    void emptyAfterFilteringIsNoImatrix() throws IOException {
        RefOutput without = ref("llama-spm-256x8-f16.Q4_K_M.gguf");
        Path out = dir.resolve("none.gguf");
        QuantizePipeline.run(withFilters(without.inputModel(), out,
                SharedRef.require("imatrix/llama-spm-256x8-f16.imatrix.gguf"), List.of(), List.of("blk.")),
                QuantizeListener.NONE);
        assertEquals(without.sha256(), QuantizeParityTest.sha256(out));
    }

    /**
     * The legacy .dat of the same calibration run: its metadata is recorded the same way, and (dense tensors,
     * power-of-two token counts, spec 5.4) its weights equal the GGUF's, so the tensor data match the .imat file.
     */
    @Test
    void legacyDatImatrix() throws IOException {
        RefOutput with = ref("llama-spm-256x8-f16.Q4_K_M.imat.gguf");
        Path dat = SharedRef.require("imatrix/llama-spm-256x8-f16.imatrix.dat");
        Path out = dir.resolve("dat.gguf");
        QuantizePipeline.run(QuantizeRequest.of(with.inputModel(), out, Preset.Q4_K_M).withThreads(2)
                .withImatrix(dat, dat.getFileName().toString()), QuantizeListener.NONE);
        try (GgufFile g = GgufFile.open(out)) {
            GgufMetadata md = g.metadata();
            assertEquals("llama-spm-256x8-f16.imatrix.dat", md.getString("quantize.imatrix.file"));
            assertTrue(md.getString("quantize.imatrix.dataset").endsWith("calib.txt"));
            assertEquals(56, md.getLong("quantize.imatrix.entries_count"));
            assertEquals(16, md.getLong("quantize.imatrix.chunks_count"));
            Map<String, String> a = shas(with);
            long same = g.tensors().stream()
                    .filter(t -> a.get(t.name()).equals(QuantizeParityTest.sha256(g.data(t).asByteBuffer()))).count();
            assertEquals(g.tensors().size(), same, "tensors equal to the GGUF-imatrix reference");
        }
    }
}
