package dev.fabric.quant.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fabric.gguf.GgmlType;
import dev.fabric.gguf.GgufFile;
import dev.fabric.gguf.GgufTensorInfo;
import dev.fabric.quant.preset.Preset;
import dev.fabric.quant.preset.RefManifest;
import dev.fabric.quant.preset.RefManifest.RefOutput;
import dev.fabric.quant.preset.RefManifest.RefTensor;
import dev.fabric.testing.SharedRef;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The type flags end to end. No reference file was made with them, but each tensor they produce must be
 * byte-identical to the same tensor in the same type in some no-imatrix reference output (quantization is
 * per tensor), which the manifest lists.
 */
class QuantizeFlagsTest {
    @TempDir
    Path dir;

    private static final String MODEL = "llama-spm-256x8-f16";

    /** (tensor name + " " + type) -> data SHA, from every no-imatrix reference output of the model. */
    private static Map<String, String> known() {
        Map<String, String> m = new HashMap<>();
        for (RefOutput o : RefManifest.outputs()) {
            if (!o.model().equals(MODEL) || o.imatrix()) continue;
            for (RefTensor t : o.tensors()) m.put(t.name() + " " + t.type(), t.sha256());
        }
        return m;
    }

    private static QuantizeRequest req(Path out, Preset p, GgmlType outType, GgmlType embType, boolean leave,
                                       boolean pure) {
        return new QuantizeRequest(SharedRef.require("models/" + MODEL + ".gguf"), out, p, 2, null, null, List.of(),
                List.of(), outType, embType, leave, pure, false);
    }

    /** Checks every tensor against the references; returns the types seen per tensor name. */
    private static Map<String, GgmlType> verify(Path out) throws IOException {
        Map<String, String> known = known();
        Map<String, GgmlType> types = new HashMap<>();
        try (GgufFile g = GgufFile.open(out)) {
            for (GgufTensorInfo t : g.tensors()) {
                String ref = known.get(t.name() + " " + t.type());
                assertTrue(ref != null, "no reference has " + t.name() + " as " + t.type());
                assertEquals(ref, QuantizeParityTest.sha256(g.data(t).asByteBuffer()), t.name() + " " + t.type());
                types.put(t.name(), t.type());
            }
        }
        return types;
    }

    @Test
    void pureGivesEveryMatrixTheDefaultType() throws IOException {
        // tied token_embd would take the default type under --pure; pin it so that a reference holds it
        Path out2 = dir.resolve("pure5.gguf");
        QuantizePipeline.run(req(out2, Preset.Q5_K_M, null, GgmlType.Q6_K, false, true), QuantizeListener.NONE);
        Map<String, GgmlType> types = verify(out2);
        assertEquals(GgmlType.Q6_K, types.get("token_embd.weight"));
        assertEquals(GgmlType.Q5_K, types.get("blk.0.attn_v.weight"), "no use_more_bits bump under --pure");
        assertEquals(GgmlType.Q5_K, types.get("blk.7.ffn_down.weight"));
    }

    @Test
    void explicitEmbeddingType() throws IOException {
        Path out = dir.resolve("emb.gguf");
        QuantizePipeline.run(req(out, Preset.Q4_K_M, null, GgmlType.Q8_0, false, false), QuantizeListener.NONE);
        Map<String, GgmlType> types = verify(out);
        assertEquals(GgmlType.Q8_0, types.get("token_embd.weight"));
        assertEquals(GgmlType.Q6_K, types.get("blk.0.attn_v.weight"));
        assertEquals(GgmlType.Q4_K, types.get("blk.1.attn_v.weight"), "use_more_bits(i, 8) = {0, 3, 6, 7}");
    }

    @Test
    void tiedEmbeddingsFollowOutputTensorType() throws IOException {
        Path out = dir.resolve("out.gguf");
        QuantizePipeline.run(req(out, Preset.Q5_K_S, GgmlType.Q8_0, null, false, false), QuantizeListener.NONE);
        assertEquals(GgmlType.Q8_0, verify(out).get("token_embd.weight"));
    }

    /** stories260K has its own output.weight (F32): left as it is, byte for byte. COPY copies everything. */
    @Test
    void leaveOutputTensorAndCopy() throws IOException {
        Path in = SharedRef.require("engine/stories260K.gguf");
        Path out = dir.resolve("leave.gguf");
        QuantizePipeline.run(new QuantizeRequest(in, out, Preset.Q4_K_M, 2, null, null, List.of(), List.of(), null,
                null, true, false, false), QuantizeListener.NONE);
        Path copy = dir.resolve("copy.gguf");
        QuantizePipeline.run(QuantizeRequest.of(in, copy, Preset.COPY), QuantizeListener.NONE);
        try (GgufFile a = GgufFile.open(in); GgufFile b = GgufFile.open(out); GgufFile c = GgufFile.open(copy)) {
            GgufTensorInfo o = b.tensor("output.weight");
            assertEquals(GgmlType.F32, o.type());
            assertEquals(QuantizeParityTest.sha256(a.data("output.weight").asByteBuffer()),
                    QuantizeParityTest.sha256(b.data(o).asByteBuffer()));
            assertEquals(GgmlType.Q5_0, b.tensor("token_embd.weight").type(), "Q4_K falls back: 64-wide rows");
            for (GgufTensorInfo t : a.tensors()) {
                assertEquals(t.type(), c.tensor(t.name()).type());
                assertEquals(QuantizeParityTest.sha256(a.data(t).asByteBuffer()),
                        QuantizeParityTest.sha256(c.data(t.name()).asByteBuffer()), t.name());
            }
            long inType = a.metadata().getLong("general.file_type", -1);
            long expect = inType >= 0 ? inType : (0 | QuantizePipeline.FTYPE_GUESSED);
            assertEquals(expect, c.metadata().getLong("general.file_type"));
        }
    }
}
