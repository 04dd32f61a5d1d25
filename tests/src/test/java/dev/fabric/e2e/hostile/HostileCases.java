package dev.fabric.e2e.hostile;

import dev.fabric.e2e.hostile.RawGguf.Field;
import dev.fabric.e2e.hostile.RawGguf.Tensor;
import dev.fabric.e2e.hostile.RawGguf.Value;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/** The generated hostile GGUF inputs: every header field overwritten, and models, vocabularies and adapters that parse but are wrong. */
final class HostileCases {
    private HostileCases() {}

    /** A generated file: its bytes and which commands must refuse it (the others may accept it, but never crash). */
    record GgufCase(String name, byte[] bytes, Kind kind) {}

    /**
     * What a case breaks, which says which commands must refuse it: the container (all of them), the model's
     * hyper-parameters or tensors (those that run or check the model: not tokenize, which needs only the
     * vocabulary, nor quantize, which converts tensors whatever they mean), the vocabulary (those that tokenize),
     * or unknown (a blind mutation, which may well leave a valid file).
     */
    enum Kind { CONTAINER, MODEL, MODEL_NOT_INSPECTED, VOCABULARY, UNKNOWN }

    // ---- every header field of the fixture model, overwritten ---------------------------------------------------

    /** Tensor infos mutated: a representative few (first, tied/untied output, a block's matmul and norm, the last). */
    private static final List<String> TENSORS = List.of("token_embd.weight", "output.weight", "blk.0.attn_q.weight",
            "blk.0.attn_q_norm.weight", "blk.1.ffn_down.weight");

    static List<GgufCase> headerMutations(RawGguf model) {
        List<Field> fields = new ArrayList<>();
        byte[] base = model.encode(fields);
        List<GgufCase> out = new ArrayList<>();
        for (Field f : fields) {
            if (f.name().contains("of tensor ") && TENSORS.stream().noneMatch(t -> f.name().endsWith("of tensor " + t))) continue;
            long v = read(base, f.offset(), f.width());
            for (long m : values(f, v)) {
                if (m == v) continue;
                byte[] b = base.clone();
                write(b, f.offset(), f.width(), m);
                boolean container = f.kind().equals("magic") || f.name().equals("version") && m != 2;
                out.add(new GgufCase(f.name() + " = " + describe(f, m), b, container ? Kind.CONTAINER : Kind.UNKNOWN));
            }
        }
        return out;
    }

    private static long[] values(Field f, long v) {
        return switch (f.kind()) {
            case "magic" -> new long[] {0, 0x47475546L /* "FUGG" */, 0x47554746L + 1};
            case "u32" -> new long[] {0, v + 1, 0x80000000L, 0xFFFFFFFFL};
            case "count" -> new long[] {0, v + 1, Math.max(0, v - 1), 1L << 62, -1};
            case "length" -> new long[] {0, v + 1, Math.max(0, v - 1), -1};
            case "type" -> new long[] {13, 9, 8, 0};
            case "dim" -> new long[] {0, v + 1, 2 * v, 1L << 62, -1};
            case "ggml_type" -> new long[] {1, 2, 26, 39};
            case "offset" -> new long[] {v + 1, v + 32, 1L << 40, 0};
            case "f32" -> new long[] {Float.floatToRawIntBits(Float.NaN), Float.floatToRawIntBits(Float.POSITIVE_INFINITY),
                Float.floatToRawIntBits(-1f), 0};
            case "bool" -> new long[] {2, 0xFF};
            case "u8" -> new long[] {0xFF};
            case "u16" -> new long[] {0xFFFF};
            default -> new long[] {0, -1, 1L << 40};
        };
    }

    private static String describe(Field f, long m) {
        if (f.kind().equals("f32")) return Float.toString(Float.intBitsToFloat((int) m));
        return f.width() == 4 ? Long.toUnsignedString(m & 0xFFFFFFFFL) : Long.toUnsignedString(m);
    }

    static long read(byte[] b, int at, int width) {
        long v = 0;
        for (int i = 0; i < width; i++) v |= (b[at + i] & 0xFFL) << (8 * i);
        return v;
    }

    static void write(byte[] b, int at, int width, long v) {
        for (int i = 0; i < width; i++) b[at + i] = (byte) (v >>> (8 * i));
    }

    /** Cut short at several places: inside the header, the metadata, the tensor infos and the data. */
    static List<GgufCase> truncations(RawGguf model) {
        List<Field> fields = new ArrayList<>();
        byte[] base = model.encode(fields);
        int infos = fields.stream().filter(f -> f.name().startsWith("name length of tensor")).findFirst().orElseThrow().offset();
        List<GgufCase> out = new ArrayList<>();
        for (int n : new int[] {0, 3, 4, 8, 23, 40, infos / 2, infos, infos + 20, (infos + base.length) / 2, base.length - 1})
            out.add(new GgufCase("truncated to " + n + " of " + base.length + " bytes", java.util.Arrays.copyOf(base, n), Kind.CONTAINER));
        byte[] text = "this is a text file, not a model\n".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        out.add(new GgufCase("a text file", text, Kind.CONTAINER));
        byte[] v1 = base.clone();
        write(v1, 4, 4, 1);
        out.add(new GgufCase("GGUF version 1", v1, Kind.CONTAINER));
        return out;
    }

    // ---- parsable but wrong: hyper-parameters, tensors, vocabulary ----------------------------------------------

    static List<GgufCase> modelCases(RawGguf model) {
        Map<String, Consumer<RawGguf>> m = new LinkedHashMap<>();
        String p = Fixtures.ARCH + ".";
        m.put("head_count = 0", g -> g.metadata.put(p + "attention.head_count", Value.u32(0)));
        m.put("head_count = 2^31", g -> g.metadata.put(p + "attention.head_count", Value.u32(0x80000000L)));
        m.put("head_count = -1 (I32)", g -> g.metadata.put(p + "attention.head_count", Value.i32(-1)));
        m.put("head_count is a string", g -> g.metadata.put(p + "attention.head_count", Value.str("2")));
        m.put("head_count is a float", g -> g.metadata.put(p + "attention.head_count", Value.f32(2f)));
        m.put("head_count_kv = 0", g -> g.metadata.put(p + "attention.head_count_kv", Value.u32(0)));
        m.put("head_count_kv = 3 does not divide 2", g -> g.metadata.put(p + "attention.head_count_kv", Value.u32(3)));
        m.put("head_count = 4 (shapes disagree)", g -> g.metadata.put(p + "attention.head_count", Value.u32(4)));
        m.put("key_length = 0", g -> g.metadata.put(p + "attention.key_length", Value.u32(0)));
        m.put("key_length = 8 (shapes disagree)", g -> g.metadata.put(p + "attention.key_length", Value.u32(8)));
        m.put("value_length = 8", g -> g.metadata.put(p + "attention.value_length", Value.u32(8)));
        m.put("embedding_length = 0", g -> g.metadata.put(p + "embedding_length", Value.u32(0)));
        m.put("embedding_length = 31", g -> g.metadata.put(p + "embedding_length", Value.u32(31)));
        m.put("embedding_length missing", g -> g.metadata.remove(p + "embedding_length"));
        m.put("feed_forward_length = 0", g -> g.metadata.put(p + "feed_forward_length", Value.u32(0)));
        m.put("feed_forward_length = 65", g -> g.metadata.put(p + "feed_forward_length", Value.u32(65)));
        m.put("block_count = 0", g -> g.metadata.put(p + "block_count", Value.u32(0)));
        m.put("block_count = 1 (blk.1 left over)", g -> g.metadata.put(p + "block_count", Value.u32(1)));
        m.put("block_count = 3 (blk.2 missing)", g -> g.metadata.put(p + "block_count", Value.u32(3)));
        m.put("block_count = 2^32-1", g -> g.metadata.put(p + "block_count", Value.u32(0xFFFFFFFFL)));
        m.put("context_length = 0", g -> g.metadata.put(p + "context_length", Value.u32(0)));
        m.put("rms epsilon NaN", g -> g.metadata.put(p + "attention.layer_norm_rms_epsilon", Value.f32(Float.NaN)));
        m.put("rms epsilon +inf", g -> g.metadata.put(p + "attention.layer_norm_rms_epsilon", Value.f32(Float.POSITIVE_INFINITY)));
        m.put("rms epsilon 0", g -> g.metadata.put(p + "attention.layer_norm_rms_epsilon", Value.f32(0f)));
        m.put("rms epsilon -1", g -> g.metadata.put(p + "attention.layer_norm_rms_epsilon", Value.f32(-1f)));
        m.put("rope theta NaN", g -> g.metadata.put(p + "rope.freq_base", Value.f32(Float.NaN)));
        m.put("rope theta 0", g -> g.metadata.put(p + "rope.freq_base", Value.f32(0f)));
        m.put("rope theta -inf", g -> g.metadata.put(p + "rope.freq_base", Value.f32(Float.NEGATIVE_INFINITY)));
        m.put("rope.dimension_count = 0", g -> g.metadata.put(p + "rope.dimension_count", Value.u32(0)));
        m.put("rope.dimension_count = 7 (odd)", g -> g.metadata.put(p + "rope.dimension_count", Value.u32(7)));
        m.put("rope.dimension_count = 32 > head_dim", g -> g.metadata.put(p + "rope.dimension_count", Value.u32(32)));
        m.put("vocab_size key disagrees", g -> g.metadata.put(p + "vocab_size", Value.u32(300)));
        m.put("token_embd has 0 rows", g -> replace(g, "token_embd.weight", new long[] {Fixtures.EMBD, 0}, 0));
        m.put("token_embd ne0 = 31", g -> replace(g, "token_embd.weight", new long[] {31, Fixtures.VOCAB}, 31 * Fixtures.VOCAB * 4));
        m.put("token_embd 1-D", g -> replace(g, "token_embd.weight", new long[] {Fixtures.EMBD * Fixtures.VOCAB}, Fixtures.EMBD * Fixtures.VOCAB * 4));
        m.put("token_embd missing", g -> g.tensors.remove(g.tensorIndex("token_embd.weight")));
        m.put("output.weight 258 rows", g -> replace(g, "output.weight", new long[] {Fixtures.EMBD, 258}, Fixtures.EMBD * 258 * 4));
        m.put("output_norm missing", g -> g.tensors.remove(g.tensorIndex("output_norm.weight")));
        m.put("blk.0.attn_q missing", g -> g.tensors.remove(g.tensorIndex("blk.0.attn_q.weight")));
        m.put("blk.0.attn_q 0 x 32", g -> replace(g, "blk.0.attn_q.weight", new long[] {Fixtures.EMBD, 0}, 0));
        m.put("blk.0.attn_q 32 x 31", g -> replace(g, "blk.0.attn_q.weight", new long[] {Fixtures.EMBD, 31}, Fixtures.EMBD * 31 * 4));
        m.put("blk.0.attn_q as I32", g -> {
            int i = g.tensorIndex("blk.0.attn_q.weight");
            Tensor t = g.tensors.get(i);
            g.tensors.set(i, new Tensor(t.name(), t.ne(), RawGguf.T_I32, t.data(), null));
        });
        m.put("blk.0.attn_q_norm 3-D", g -> replace(g, "blk.0.attn_q_norm.weight", new long[] {8, 2, 1}, 16 * 4));
        m.put("extra tensor blk.7.attn_q.weight", g -> g.tensors.add(Fixtures.f32("blk.7.attn_q.weight", new java.util.Random(1), false, 32, 32)));
        m.put("tokens fewer than embedding rows", g -> {
            List<String> t = new ArrayList<>(Fixtures.byteTokens());
            t.add("<|endoftext|>");
            t.add("<|im_start|>");
            g.metadata.put("tokenizer.ggml.tokens", Value.strings(t));
            List<Long> types = new ArrayList<>();
            for (int i = 0; i < t.size(); i++) types.add(i < 256 ? 1L : 3L);
            g.metadata.put("tokenizer.ggml.token_type", Value.ints(types));
            g.metadata.put("tokenizer.ggml.eos_token_id", Value.u32(257));
        });
        List<GgufCase> out = new ArrayList<>();
        for (var e : m.entrySet()) out.add(make(model, e.getKey(), Kind.MODEL, e.getValue()));

        // not a model the engine runs: inspect shows such files without judging them
        out.add(make(model, "architecture 'gpt5'", Kind.MODEL_NOT_INSPECTED,
                g -> g.metadata.put("general.architecture", Value.str("gpt5"))));
        out.add(make(model, "general.type adapter", Kind.MODEL_NOT_INSPECTED,
                g -> g.metadata.put("general.type", Value.str("adapter"))));
        out.add(make(model, "no general.architecture", Kind.MODEL_NOT_INSPECTED,
                g -> g.metadata.remove("general.architecture")));
        out.add(make(model, "general.architecture is a number", Kind.MODEL_NOT_INSPECTED,
                g -> g.metadata.put("general.architecture", Value.u32(3))));

        // the vocabulary
        Map<String, Consumer<RawGguf>> v = new LinkedHashMap<>();
        v.put("tokenizer model 'bogus'", g -> g.metadata.put("tokenizer.ggml.model", Value.str("bogus")));
        v.put("no tokenizer.ggml.tokens", g -> g.metadata.remove("tokenizer.ggml.tokens"));
        v.put("no tokenizer.ggml.model", g -> g.metadata.remove("tokenizer.ggml.model"));
        v.put("token_type shorter than tokens", g -> g.metadata.put("tokenizer.ggml.token_type", Value.ints(List.of(1L, 1L))));
        v.put("tokens is an array of ints", g -> g.metadata.put("tokenizer.ggml.tokens", Value.ints(List.of(1L, 2L))));
        v.put("merges missing (BPE)", g -> g.metadata.remove("tokenizer.ggml.merges"));
        v.put("add_bos_token is a string", g -> g.metadata.put("tokenizer.ggml.add_bos_token", Value.str("yes")));
        for (var e : v.entrySet()) out.add(make(model, e.getKey(), Kind.VOCABULARY, e.getValue()));
        return out;
    }

    /** Parsable models that may be accepted (a warning at most): the commands must still end cleanly. */
    static List<GgufCase> tolerableCases(RawGguf model) {
        List<GgufCase> out = new ArrayList<>();
        out.add(make(model, "bos id out of the vocabulary", Kind.UNKNOWN,
                g -> g.metadata.put("tokenizer.ggml.bos_token_id", Value.u32(99999))));
        out.add(make(model, "merges of unknown tokens", Kind.UNKNOWN,
                g -> g.metadata.put("tokenizer.ggml.merges", Value.strings(List.of("x y", "Ġ Ġ", "<|im_end|> a")))));
        out.add(make(model, "chat template is broken Jinja", Kind.UNKNOWN,
                g -> g.metadata.put("tokenizer.chat_template", Value.str("{% for m in messages %}{{ m.role "))));
        out.add(make(model, "a token with invalid UTF-8", Kind.UNKNOWN, g -> {
            List<String> t = new ArrayList<>(Fixtures.byteTokens());
            t.set(65, "\uFFFD\uD800");
            t.addAll(Fixtures.SPECIALS);
            g.metadata.put("tokenizer.ggml.tokens", Value.strings(t));
        }));
        out.add(make(model, "weights all NaN", Kind.UNKNOWN, g -> {
            int i = g.tensorIndex("blk.0.attn_q.weight");
            Tensor t = g.tensors.get(i);
            ByteBuffer b = ByteBuffer.allocate(t.data().length).order(ByteOrder.LITTLE_ENDIAN);
            while (b.hasRemaining()) b.putFloat(Float.NaN);
            g.tensors.set(i, new Tensor(t.name(), t.ne(), t.type(), b.array(), null));
        }));
        return out;
    }

    static void replace(RawGguf g, String name, long[] ne, int bytes) {
        int i = g.tensorIndex(name);
        g.tensors.set(i, new Tensor(name, ne, g.tensors.get(i).type(), new byte[bytes], null));
    }

    static GgufCase make(RawGguf base, String name, Kind kind, Consumer<RawGguf> edit) {
        RawGguf g = base.copy();
        edit.accept(g);
        return new GgufCase(name, g.encode(null), kind);
    }

    // ---- adapters ---------------------------------------------------------------------------------------------

    static List<GgufCase> adapterCases(RawGguf lora, RawGguf model) {
        Map<String, Consumer<RawGguf>> m = new LinkedHashMap<>();
        m.put("lora_b missing", g -> g.tensors.remove(g.tensorIndex("blk.0.attn_q.weight.lora_b")));
        m.put("lora_a missing", g -> g.tensors.remove(g.tensorIndex("blk.0.attn_q.weight.lora_a")));
        m.put("rank mismatch", g -> replace(g, "blk.0.attn_q.weight.lora_b", new long[] {3, 32}, 3 * 32 * 4));
        m.put("rank 0", g -> {
            replace(g, "blk.0.attn_q.weight.lora_a", new long[] {32, 0}, 0);
            replace(g, "blk.0.attn_q.weight.lora_b", new long[] {0, 32}, 0);
        });
        m.put("lora_a does not fit the weight (n_in 31)", g -> replace(g, "blk.0.attn_q.weight.lora_a", new long[] {31, 2}, 31 * 2 * 4));
        m.put("lora_b does not fit the weight (n_out 16)", g -> replace(g, "blk.0.attn_q.weight.lora_b", new long[] {2, 16}, 2 * 16 * 4));
        m.put("alpha NaN", g -> g.metadata.put("adapter.lora.alpha", Value.f32(Float.NaN)));
        m.put("alpha -inf", g -> g.metadata.put("adapter.lora.alpha", Value.f32(Float.NEGATIVE_INFINITY)));
        m.put("alpha is a string", g -> g.metadata.put("adapter.lora.alpha", Value.str("4")));
        m.put("names match no weight", g -> {
            List<Tensor> renamed = new ArrayList<>();
            for (Tensor t : g.tensors) renamed.add(new Tensor(t.name().replace("blk.", "blz."), t.ne(), t.type(), t.data(), null));
            g.tensors.clear();
            g.tensors.addAll(renamed);
        });
        m.put("architecture llama", g -> g.metadata.put("general.architecture", Value.str("llama")));
        m.put("general.type model", g -> g.metadata.put("general.type", Value.str("model")));
        m.put("adapter.type ia3", g -> g.metadata.put("adapter.type", Value.str("ia3")));
        m.put("no tensors", g -> g.tensors.clear());
        m.put("a tensor neither lora_a nor lora_b", g -> g.tensors.add(Fixtures.f32("blk.0.attn_q.weight.lora_c", new java.util.Random(2), false, 32, 2)));
        m.put("lora_a as I32", g -> {
            int i = g.tensorIndex("blk.0.attn_q.weight.lora_a");
            Tensor t = g.tensors.get(i);
            g.tensors.set(i, new Tensor(t.name(), t.ne(), RawGguf.T_I32, t.data(), null));
        });
        List<GgufCase> out = new ArrayList<>();
        for (var e : m.entrySet()) out.add(make(lora, e.getKey(), Kind.CONTAINER, e.getValue()));
        out.add(new GgufCase("the base model given as an adapter", model.encode(null), Kind.CONTAINER));
        return out;
    }
}
