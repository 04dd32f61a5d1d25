package dev.fabric.quant.preset;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fabric.FabricException;
import dev.fabric.gguf.GgmlType;
import dev.fabric.gguf.GgufFile;
import dev.fabric.gguf.GgufTensorInfo;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The per-tensor type rules against the types and order llama-quantize wrote (shared/ref/quant/manifest.json). */
class TypePlannerTest {

    record Input(ModelShape shape, List<WeightInfo> weights) {}

    static Input load(Path model) throws IOException {
        try (GgufFile g = GgufFile.open(model)) {
            List<WeightInfo> ws = new ArrayList<>();
            for (GgufTensorInfo t : g.tensors()) ws.add(new WeightInfo(t.name(), t.shape(), t.type()));
            return new Input(ModelShape.of(g.metadata()), ws);
        }
    }

    static Stream<RefManifest.RefOutput> outputs() {
        return RefManifest.outputs().stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("outputs")
    void typesAndOrderMatchLlamaQuantize(RefManifest.RefOutput ref) throws IOException {
        Input in = load(ref.inputModel());
        Preset p = Preset.parse(ref.preset());
        assertEquals(ref.fileType(), p.fileType(), "file type of " + p);
        List<TypeChoice> plan = TypePlanner.plan(in.shape(), in.weights(), TypeOptions.of(p).withImatrix(ref.imatrix()));
        assertEquals(ref.tensors().size(), plan.size());
        for (int i = 0; i < plan.size(); i++) {
            RefManifest.RefTensor r = ref.tensors().get(i);
            TypeChoice c = plan.get(i);
            assertEquals(r.name(), c.name(), "tensor #" + i);
            assertEquals(r.type(), c.type(), r.name());
            assertArrayEquals(r.shape(), c.input().shape(), r.name());
        }
    }

    @Test
    void useMoreBitsLayerSetsFromTheSpec() {
        assertEquals(List.of(0, 1, 2, 5, 8, 11, 14, 17, 20, 23, 24, 25, 26, 27), moreBits(28));
        assertEquals(List.of(0, 1, 2, 3, 6, 9, 12, 15, 18, 21, 24, 27, 30, 31, 32, 33, 34, 35), moreBits(36));
        assertEquals(List.of(0, 3, 6, 7), moreBits(8));
    }

    private static List<Integer> moreBits(int n) {
        return IntStream.range(0, n).filter(i -> TypePlanner.useMoreBits(i, n)).boxed().toList();
    }

    @Test
    void weightOrderIsLayerThenBytes() {
        List<String> names = new ArrayList<>(List.of("blk.10.attn_q.weight", "token_embd.weight", "blk.2.ffn_up.weight",
                "output_norm.weight", "blk.2.attn_k_norm.weight", "blk.2.attn_k.weight", "output.weight"));
        names.sort(WeightOrder.INSTANCE);
        assertEquals(List.of("output.weight", "output_norm.weight", "token_embd.weight", "blk.2.attn_k.weight",
                "blk.2.attn_k_norm.weight", "blk.2.ffn_up.weight", "blk.10.attn_q.weight"), names);
    }

    // A Qwen3-0.6B-shaped tensor list: 28 layers, tied, every row a multiple of 256 (spec 4.1 "Qwen3 summary").
    private static List<WeightInfo> qwen06b(boolean tied) {
        List<WeightInfo> w = new ArrayList<>();
        w.add(new WeightInfo("token_embd.weight", new long[] {1024, 151936}, GgmlType.BF16));
        if (!tied) w.add(new WeightInfo("output.weight", new long[] {1024, 151936}, GgmlType.BF16));
        w.add(new WeightInfo("output_norm.weight", new long[] {1024}, GgmlType.F32));
        for (int l = 0; l < 28; l++) {
            String b = "blk." + l + ".";
            for (String n : List.of("attn_q", "attn_output")) w.add(new WeightInfo(b + n + ".weight", new long[] {1024, 2048}, GgmlType.BF16));
            for (String n : List.of("attn_k", "attn_v")) w.add(new WeightInfo(b + n + ".weight", new long[] {1024, 1024}, GgmlType.BF16));
            for (String n : List.of("ffn_gate", "ffn_up")) w.add(new WeightInfo(b + n + ".weight", new long[] {1024, 3072}, GgmlType.BF16));
            w.add(new WeightInfo(b + "ffn_down.weight", new long[] {3072, 1024}, GgmlType.BF16));
            for (String n : List.of("attn_norm", "ffn_norm")) w.add(new WeightInfo(b + n + ".weight", new long[] {1024}, GgmlType.F32));
            for (String n : List.of("attn_q_norm", "attn_k_norm")) w.add(new WeightInfo(b + n + ".weight", new long[] {128}, GgmlType.F32));
        }
        return w;
    }

    private static final ModelShape QWEN3_28 = new ModelShape("qwen3", 28, 2, 0, false, false);

    private static Map<GgmlType, Long> histogram(List<TypeChoice> plan) {
        return plan.stream().collect(java.util.stream.Collectors.groupingBy(TypeChoice::type,
                java.util.TreeMap::new, java.util.stream.Collectors.counting()));
    }

    @Test
    void qwen3TiedQ4KMCountsFromTheSpec() {
        // spec 4.1: 29 x Q6_K (tied token_embd + 14 attn_v + 14 ffn_down), 168 x Q4_K, 113 x F32
        var h = histogram(TypePlanner.plan(QWEN3_28, qwen06b(true), TypeOptions.of(Preset.Q4_K_M)));
        assertEquals(Map.of(GgmlType.Q6_K, 29L, GgmlType.Q4_K, 168L, GgmlType.F32, 113L), h);
    }

    @Test
    void untiedOutputIsQ6KAndEmbeddingsTheDefault() {
        var plan = TypePlanner.plan(QWEN3_28, qwen06b(false), TypeOptions.of(Preset.Q4_K_M));
        assertEquals(GgmlType.Q6_K, find(plan, "output.weight").type());
        assertEquals(GgmlType.Q4_K, find(plan, "token_embd.weight").type());
    }

    @Test
    void pureUsesTheDefaultEverywhereIncludingTiedEmbeddings() {
        var plan = TypePlanner.plan(QWEN3_28, qwen06b(true), new TypeOptions(Preset.Q4_K_M, null, null, false, true, false));
        assertEquals(Map.of(GgmlType.Q4_K, 197L, GgmlType.F32, 113L), histogram(plan));
    }

    @Test
    void explicitTypesForOutputAndEmbeddings() {
        // tied: token_embd follows --output-tensor-type unless --token-embedding-type is given
        var o = new TypeOptions(Preset.Q4_K_M, GgmlType.Q8_0, null, false, false, false);
        assertEquals(GgmlType.Q8_0, find(TypePlanner.plan(QWEN3_28, qwen06b(true), o), "token_embd.weight").type());
        var both = new TypeOptions(Preset.Q4_K_M, GgmlType.Q8_0, GgmlType.Q5_K, false, false, false);
        var plan = TypePlanner.plan(QWEN3_28, qwen06b(false), both);
        assertEquals(GgmlType.Q5_K, find(plan, "token_embd.weight").type());
        assertEquals(GgmlType.Q8_0, find(plan, "output.weight").type());
    }

    @Test
    void leaveOutputTensorKeepsItsInputType() {
        var o = new TypeOptions(Preset.Q4_K_M, null, null, true, false, false);
        var plan = TypePlanner.plan(QWEN3_28, qwen06b(false), o);
        assertEquals(GgmlType.BF16, find(plan, "output.weight").type());
        assertTrue(!find(plan, "output.weight").converts());
    }

    @Test
    void rowsWithoutAFallbackAreRefusedNamingTheTensor() {
        // stories260K's ffn_down rows are 172 wide: Q8_0 has no fallback (llama-quantize: "Unsupported tensor size")
        List<WeightInfo> w = List.of(new WeightInfo("blk.0.ffn_down.weight", new long[] {172, 64}, GgmlType.F32));
        var m = new ModelShape("llama", 1, 2, 0, false, false);
        var e = assertThrows(FabricException.class, () -> TypePlanner.plan(m, w, TypeOptions.of(Preset.Q8_0)));
        assertTrue(e.getMessage().contains("blk.0.ffn_down.weight") && e.getMessage().contains("172"), e.getMessage());
        // a k-quant preset falls back twice: Q4_K -> Q5_0 (32 does not divide 172) -> F16
        TypeChoice c = TypePlanner.plan(m, w, TypeOptions.of(Preset.Q4_K_S)).get(0);
        assertEquals(GgmlType.F16, c.type());
        assertEquals(GgmlType.Q4_K, c.fallbackFrom());
    }

    @Test
    void copyKeepsEverything() {
        for (TypeChoice c : TypePlanner.plan(QWEN3_28, qwen06b(true), TypeOptions.of(Preset.COPY))) {
            assertEquals(c.input().type(), c.type());
            assertNull(c.fallbackFrom());
        }
    }

    @Test
    void presetNamesAliasesAndNumbers() {
        assertEquals(Preset.Q4_K_M, Preset.parse("q4_k"));
        assertEquals(Preset.Q4_K_M, Preset.parse("15"));
        assertEquals(Preset.Q3_K_M, Preset.parse("Q3_K"));
        assertEquals(Preset.IQ4_XS, Preset.parse("iq4_xs"));
        assertThrows(FabricException.class, () -> Preset.parse("Q9_K"));
    }

    private static TypeChoice find(List<TypeChoice> plan, String name) {
        return plan.stream().filter(c -> c.name().equals(name)).findFirst().orElseThrow();
    }
}
