package dev.fabric.e2e.hostile;

import dev.fabric.e2e.hostile.RawGguf.Tensor;
import dev.fabric.e2e.hostile.RawGguf.Value;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * The valid inputs every hostile case starts from, made here with a fixed seed: a tiny Qwen3 model (random F32
 * weights, a byte-level BPE vocabulary of the 256 bytes plus three control tokens, a ChatML template), a LoRA
 * adapter for it, a calibration text and a conversation. Widths are multiples of 32 so that quantize's block
 * types apply without fallbacks.
 */
final class Fixtures {
    private Fixtures() {}

    static final String ARCH = "qwen3";
    static final int EMBD = 32, HEADS = 2, KV_HEADS = 1, HEAD_DIM = 16, FF = 64, LAYERS = 2, CTX = 64;
    static final List<String> SPECIALS = List.of("<|endoftext|>", "<|im_start|>", "<|im_end|>");
    static final int VOCAB = 256 + SPECIALS.size();
    static final String CHAT_TEMPLATE = "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n"
            + "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";

    /** A calibration / perplexity text: plain ASCII, one token per byte with this vocabulary. */
    static final String CALIB = "The patient was admitted with chest pain and shortness of breath. ".repeat(8);
    static final String CHAT = "[{\"role\": \"system\", \"content\": \"Be brief.\"}, {\"role\": \"user\", \"content\": "
            + "\"Hi\"}, {\"role\": \"assistant\", \"content\": \"Hello.\"}]";

    /** GPT-2's byte-to-character map of byte-level BPE: printable Latin-1 bytes stand for themselves, others move up past 255. */
    static List<String> byteTokens() {
        List<String> t = new ArrayList<>();
        int n = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            t.add(String.valueOf((char) (printable ? b : 256 + n++)));
        }
        return t;
    }

    static RawGguf model() {
        RawGguf g = new RawGguf();
        String p = ARCH + ".";
        g.metadata.put("general.architecture", Value.str(ARCH));
        g.metadata.put("general.type", Value.str("model"));
        g.metadata.put("general.name", Value.str("hostile-fixture"));
        g.metadata.put(p + "context_length", Value.u32(CTX));
        g.metadata.put(p + "embedding_length", Value.u32(EMBD));
        g.metadata.put(p + "block_count", Value.u32(LAYERS));
        g.metadata.put(p + "feed_forward_length", Value.u32(FF));
        g.metadata.put(p + "attention.head_count", Value.u32(HEADS));
        g.metadata.put(p + "attention.head_count_kv", Value.u32(KV_HEADS));
        g.metadata.put(p + "attention.key_length", Value.u32(HEAD_DIM));
        g.metadata.put(p + "attention.value_length", Value.u32(HEAD_DIM));
        g.metadata.put(p + "attention.layer_norm_rms_epsilon", Value.f32(1e-6f));
        g.metadata.put(p + "rope.freq_base", Value.f32(1_000_000f));
        List<String> tokens = new ArrayList<>(byteTokens());
        tokens.addAll(SPECIALS);
        List<Long> types = new ArrayList<>();
        for (int i = 0; i < tokens.size(); i++) types.add(i < 256 ? 1L : 3L);
        g.metadata.put("tokenizer.ggml.model", Value.str("gpt2"));
        g.metadata.put("tokenizer.ggml.pre", Value.str("qwen2"));
        g.metadata.put("tokenizer.ggml.tokens", Value.strings(tokens));
        g.metadata.put("tokenizer.ggml.token_type", Value.ints(types));
        g.metadata.put("tokenizer.ggml.merges", Value.strings(List.of()));
        g.metadata.put("tokenizer.ggml.bos_token_id", Value.u32(256));
        g.metadata.put("tokenizer.ggml.eos_token_id", Value.u32(258));
        g.metadata.put("tokenizer.ggml.add_bos_token", Value.bool(false));
        g.metadata.put("tokenizer.chat_template", Value.str(CHAT_TEMPLATE));

        Random r = new Random(20261202);
        int q = HEADS * HEAD_DIM, kv = KV_HEADS * HEAD_DIM;
        g.tensors.add(f32("token_embd.weight", r, false, EMBD, VOCAB));
        g.tensors.add(f32("output_norm.weight", r, true, EMBD));
        g.tensors.add(f32("output.weight", r, false, EMBD, VOCAB));
        for (int l = 0; l < LAYERS; l++) {
            String b = "blk." + l + ".";
            g.tensors.add(f32(b + "attn_norm.weight", r, true, EMBD));
            g.tensors.add(f32(b + "attn_q.weight", r, false, EMBD, q));
            g.tensors.add(f32(b + "attn_k.weight", r, false, EMBD, kv));
            g.tensors.add(f32(b + "attn_v.weight", r, false, EMBD, kv));
            g.tensors.add(f32(b + "attn_output.weight", r, false, q, EMBD));
            g.tensors.add(f32(b + "attn_q_norm.weight", r, true, HEAD_DIM));
            g.tensors.add(f32(b + "attn_k_norm.weight", r, true, HEAD_DIM));
            g.tensors.add(f32(b + "ffn_norm.weight", r, true, EMBD));
            g.tensors.add(f32(b + "ffn_gate.weight", r, false, EMBD, FF));
            g.tensors.add(f32(b + "ffn_up.weight", r, false, EMBD, FF));
            g.tensors.add(f32(b + "ffn_down.weight", r, false, FF, EMBD));
        }
        return g;
    }

    /** A rank-2 LoRA adapter for two of the model's matmuls (lora_a ne = (n_in, rank), lora_b ne = (rank, n_out)). */
    static RawGguf lora() {
        RawGguf g = new RawGguf();
        g.metadata.put("general.architecture", Value.str(ARCH));
        g.metadata.put("general.type", Value.str("adapter"));
        g.metadata.put("adapter.type", Value.str("lora"));
        g.metadata.put("adapter.lora.alpha", Value.f32(4f));
        Random r = new Random(7);
        for (String w : List.of("blk.0.attn_q.weight", "blk.1.ffn_up.weight")) {
            int out = w.contains("ffn_up") ? FF : HEADS * HEAD_DIM;
            g.tensors.add(f32(w + ".lora_a", r, false, EMBD, 2));
            g.tensors.add(f32(w + ".lora_b", r, false, 2, out));
        }
        return g;
    }

    static Tensor f32(String name, Random r, boolean norm, long... ne) {
        int n = 1;
        for (long d : ne) n *= (int) d;
        ByteBuffer b = ByteBuffer.allocate(4 * n).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) b.putFloat(norm ? 1f + 0.1f * (float) r.nextGaussian() : 0.2f * (float) r.nextGaussian());
        return new Tensor(name, ne, RawGguf.T_F32, b.array(), null);
    }
}
