package dev.fabric.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fabric.FabricException;
import dev.fabric.backend.cpu.CpuBackend;
import dev.fabric.gguf.GgufFile;
import dev.fabric.gguf.GgufMetadata;
import dev.fabric.gguf.GgufTensorInfo;
import dev.fabric.gguf.GgufValue;
import dev.fabric.gguf.GgufWriter;
import dev.fabric.gguf.TensorSpec;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Hyper-parameters checked at load, against each other and the tensor table: each bad value of the synthetic
 * Qwen3 model (head size 8 from key_length, 4 heads, 2 KV heads, n_embd 24, 2 layers) is refused with the file, the
 * key and the rule, before anything is allocated.
 */
class ModelConfigCheckTest {
    @TempDir
    static Path dir;

    static Stream<Arguments> cases() {
        String p = "qwen3.";
        return Stream.of(
                Arguments.of(p + "attention.head_count", GgufValue.u32(0), "qwen3.attention.head_count = 0: must be at least 1"),
                Arguments.of(p + "attention.head_count_kv", GgufValue.u32(3), "qwen3.attention.head_count_kv = 3: must divide qwen3.attention.head_count = 4"),
                Arguments.of(p + "attention.head_count_kv", GgufValue.u32(0), "qwen3.attention.head_count_kv = 0: must be at least 1"),
                Arguments.of(p + "embedding_length", GgufValue.u32(0), "qwen3.embedding_length = 0: must be at least 1"),
                Arguments.of(p + "context_length", GgufValue.u32(0), "qwen3.context_length = 0: must be at least 1"),
                Arguments.of(p + "block_count", GgufValue.u32(1), "qwen3.block_count = 1: the file has more blocks: tensor blk.1."),
                Arguments.of(p + "block_count", GgufValue.u32(0xFFFFFFFFL), "qwen3.block_count = 4294967295: must be at most 65536"),
                Arguments.of(p + "attention.layer_norm_rms_epsilon", GgufValue.f32(Float.NaN), "layer_norm_rms_epsilon = NaN: must be a positive finite number"),
                Arguments.of(p + "attention.layer_norm_rms_epsilon", GgufValue.f32(0f), "layer_norm_rms_epsilon = 0.0: must be a positive finite number"),
                Arguments.of(p + "rope.freq_base", GgufValue.f32(Float.POSITIVE_INFINITY), "qwen3.rope.freq_base = Infinity: must be a positive finite number"),
                Arguments.of(p + "rope.dimension_count", GgufValue.u32(7), "qwen3.rope.dimension_count = 7: must be even and at most the head size 8"),
                Arguments.of(p + "attention.value_length", GgufValue.u32(4), "qwen3.attention.value_length = 4: must equal the key head size 8"),
                Arguments.of(p + "attention.key_length", GgufValue.u32(6), "qwen3.attention.value_length = 8: must equal the key head size 6"),
                Arguments.of(p + "attention.head_count", GgufValue.u32(8), "tensor blk.0.attn_q.weight has shape [24, 32] (ggml order), expected [24, 64], from n_head * head_dim"),
                Arguments.of(p + "feed_forward_length", GgufValue.u32(41), "tensor blk.0.ffn_gate.weight has shape [24, 40] (ggml order), expected [24, 41]"),
                Arguments.of(p + "attention.head_count", GgufValue.string("4"), "qwen3.attention.head_count"),
                Arguments.of(p + "vocab_size", GgufValue.u32(51), "qwen3.vocab_size = 51: must equal token_embd.weight's 50 rows"));
    }

    @ParameterizedTest
    @MethodSource("cases")
    void badValue_isRefusedNamingFileAndKey(String key, GgufValue value, String expected) throws Exception {
        Map<String, long[]> shapes = new LinkedHashMap<>();
        Map<String, float[]> w = SyntheticModels.weights(Arch.QWEN3, shapes, 1);
        Path good = SyntheticModels.write(dir.resolve("good.gguf"), "qwen3", Arch.QWEN3, w, shapes);
        Path bad = dir.resolve("bad-" + key.replace('.', '_') + ".gguf");
        try (GgufFile in = GgufFile.open(good)) {
            GgufMetadata md = in.metadata().has(key) ? in.metadata().toBuilder().replace(key, value).build()
                    : in.metadata().toBuilder().put(key, value).build();
            List<TensorSpec> specs = new ArrayList<>();
            for (GgufTensorInfo t : in.tensors()) specs.add(new TensorSpec(t.name(), t.shape(), t.type()));
            try (GgufWriter out = GgufWriter.create(bad, md, specs, 32)) {
                for (int i = 0; i < specs.size(); i++) out.writeTensor(i, in.data(in.tensors().get(i)));
                out.finish();
            }
        }
        try (CpuBackend b = new CpuBackend(1)) {
            FabricException e = assertThrows(FabricException.class, () -> Model.open(bad, b).close());
            assertEquals(FabricException.EXIT_INPUT, e.exitCode());
            assertTrue(e.getMessage().startsWith(bad.toString() + ": ") && e.getMessage().contains(expected), e.getMessage());
        }
    }
}
