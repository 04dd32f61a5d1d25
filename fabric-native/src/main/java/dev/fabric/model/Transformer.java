package dev.fabric.model;

import dev.fabric.FabricException;
import dev.fabric.backend.Backend;
import dev.fabric.backend.DType;
import dev.fabric.backend.Tensor;
import dev.fabric.lora.LoraAdapter;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The forward pass of the llama-family decoders (llama, qwen2, qwen3), written against {@link Backend} ops only,
 * with a KV cache of {@code nCtx} positions. Per block, as llama.cpp builds its graphs:
 * <pre>
 *   h = x + Wo attention(rope(norm_q(Wq n)), rope(norm_k(Wk n)), Wv n)    n = rms_norm(x) * attn_norm
 *   x = h + Wdown (silu(Wgate m) * Wup m)                                  m = rms_norm(h) * ffn_norm
 * </pre>
 * (q/k norms for qwen3, q/k/v biases for qwen2), then logits = output(rms_norm(x) * output_norm).
 * Each linear layer adds {@code s * B (A n)} for every attached LoRA adapter that adapts its weight.
 */
public final class Transformer implements AutoCloseable {
    /** A linear layer: weight [n_out, n_in], optional bias, LoRA deltas. */
    private record Linear(String name, Tensor w, Tensor bias, List<Delta> deltas) {
        long nOut() {
            return w.dim(0);
        }
    }

    private record Delta(LoraAdapter.Pair pair, float scale) {}

    private record Block(ModelWeights.Layer w, Linear q, Linear k, Linear v, Linear o, Linear gate, Linear up,
            Linear down, Tensor kCache, Tensor vCache) {}

    private final ModelConfig config;
    private final Backend backend;
    private final ModelWeights weights;
    private final int nCtx;
    private final List<Block> blocks = new ArrayList<>();
    private final Linear output;
    private final Set<String> unusedLora = new HashSet<>();
    private MatmulObserver observer;

    /**
     * @param kvType  type of the KV cache: F16 (llama.cpp's default, and what its reference numbers used) or F32
     * @param loras   adapters with their user scales, applied in order
     */
    public Transformer(ModelConfig config, ModelWeights weights, Backend backend, int nCtx, DType kvType,
            List<AppliedLora> loras) {
        if (nCtx <= 0) throw new IllegalArgumentException("nCtx " + nCtx);
        this.config = config;
        this.backend = backend;
        this.weights = weights;
        this.nCtx = nCtx;
        Set<String> used = new HashSet<>();
        for (AppliedLora l : loras) {
            if (!l.adapter().arch().isEmpty() && !l.adapter().arch().equals(config.arch().ggufName()))
                throw new FabricException(l.adapter().path() + ": adapter is for architecture '" + l.adapter().arch()
                        + "', the model is '" + config.arch().ggufName() + "'");
        }
        for (int i = 0; i < config.nLayer(); i++) {
            ModelWeights.Layer w = weights.layers().get(i);
            String p = "blk." + i + ".";
            blocks.add(new Block(w, linear(p + "attn_q.weight", w.wq(), w.bq(), loras, used),
                    linear(p + "attn_k.weight", w.wk(), w.bk(), loras, used),
                    linear(p + "attn_v.weight", w.wv(), w.bv(), loras, used),
                    linear(p + "attn_output.weight", w.wo(), null, loras, used),
                    linear(p + "ffn_gate.weight", w.wGate(), null, loras, used),
                    linear(p + "ffn_up.weight", w.wUp(), null, loras, used),
                    linear(p + "ffn_down.weight", w.wDown(), null, loras, used),
                    backend.allocate(kvType, nCtx, config.nHeadKv(), config.headDim()),
                    backend.allocate(kvType, nCtx, config.nHeadKv(), config.headDim())));
        }
        output = linear(config.tiedOutput() ? "token_embd.weight" : "output.weight", weights.output(), null, loras, used);
        for (AppliedLora l : loras) {
            int n = 0;
            for (String base : l.adapter().pairs().keySet()) {
                if (!used.contains(base)) unusedLora.add(base);
                else n++;
            }
            if (n == 0)
                throw new FabricException(l.adapter().path() + ": none of the adapter's " + l.adapter().pairs().size()
                        + " tensor pairs (e.g. " + new java.util.TreeSet<>(l.adapter().pairs().keySet()).first()
                        + ") names a matmul weight of this model: it was made for another model");
        }
    }

    /** An adapter attached at a user scale (llama.cpp's --lora-scaled; 1 for --lora); the scale must be finite. */
    public record AppliedLora(LoraAdapter adapter, float scale) {
        public AppliedLora {
            if (!Float.isFinite(scale))
                throw new FabricException("LoRA scale " + scale + " for " + adapter.path() + " must be a finite number",
                        FabricException.EXIT_USAGE, null);
        }
    }

    private Linear linear(String name, Tensor w, Tensor bias, List<AppliedLora> loras, Set<String> used) {
        List<Delta> deltas = new ArrayList<>();
        for (AppliedLora l : loras) {
            LoraAdapter.Pair p = l.adapter().pairs().get(name);
            if (p == null) continue;
            if (p.a().dim(1) != w.dim(1) || p.b().dim(0) != w.dim(0))
                throw new FabricException(l.adapter().path() + ": " + name + " lora shapes A" + p.a() + " B" + p.b()
                        + " do not fit the weight " + w);
            deltas.add(new Delta(p, l.adapter().scale(p, l.scale())));
            used.add(name);
        }
        return new Linear(name, w, bias, List.copyOf(deltas));
    }

    /**
     * Sees the input of every linear layer before its matmul, with the GGUF name of the weight (imatrix
     * collection, as llama-imatrix's graph callback sees each MUL_MAT's src1). x is [rows, n_in] F32.
     */
    public interface MatmulObserver {
        void input(String weightName, Tensor x);
    }

    /** Sets (or with null removes) the observer of linear-layer inputs. */
    public void setMatmulObserver(MatmulObserver observer) {
        this.observer = observer;
    }

    public ModelConfig config() {
        return config;
    }

    public int nCtx() {
        return nCtx;
    }

    /**
     * Adapter tensors this model does not apply: llama.cpp applies LoRA to matrix multiplications only, so pairs
     * for norm weights (which some trainers write) are loaded but unused there too.
     */
    public Set<String> unusedLoraTensors() {
        return Set.copyOf(unusedLora);
    }

    /**
     * Runs {@code tokens} at positions pos0.. (the cache must hold positions 0..pos0-1 from earlier calls) and
     * returns their logits, [tokens.length * vocab] row-major, or only the last token's when {@code lastOnly}.
     */
    public float[] forward(int[] tokens, int pos0, boolean lastOnly) {
        int n = tokens.length;
        if (n == 0) throw new IllegalArgumentException("no tokens");
        if (pos0 < 0 || pos0 + n > nCtx)
            throw new FabricException("positions " + pos0 + ".." + (pos0 + n - 1) + " exceed the context of " + nCtx);
        for (int t : tokens)
            if (t < 0 || t >= config.vocabSize())
                throw new FabricException("token id " + t + " is outside the vocabulary (0.." + (config.vocabSize() - 1) + ")");
        ModelConfig c = config;
        Backend b = backend;
        List<Tensor> scratch = new ArrayList<>();
        try {
            Tensor ids = keep(scratch, b.allocate(DType.I32, n));
            b.write(ids, tokens);
            int[] posArr = new int[n];
            for (int i = 0; i < n; i++) posArr[i] = pos0 + i;
            Tensor pos = keep(scratch, b.allocate(DType.I32, n));
            b.write(pos, posArr);

            Tensor x = keep(scratch, b.allocate(DType.F32, n, c.nEmbd()));
            b.get_rows(weights.tokenEmbd(), ids, x);
            Tensor cur = keep(scratch, b.allocate(DType.F32, n, c.nEmbd()));
            Tensor q = keep(scratch, b.allocate(DType.F32, n, c.qDim()));
            Tensor k = keep(scratch, b.allocate(DType.F32, n, c.kvDim()));
            Tensor v = keep(scratch, b.allocate(DType.F32, n, c.kvDim()));
            Tensor att = keep(scratch, b.allocate(DType.F32, n, c.nHead(), c.headDim()));
            Tensor gate = keep(scratch, b.allocate(DType.F32, n, c.nFf()));
            Tensor up = keep(scratch, b.allocate(DType.F32, n, c.nFf()));
            int maxRank = 1;
            long maxOut = 1;
            List<Linear> all = new ArrayList<>(List.of(output));
            for (Block blk : blocks) all.addAll(List.of(blk.q, blk.k, blk.v, blk.o, blk.gate, blk.up, blk.down));
            for (Linear l : all)
                for (Delta d : l.deltas) {
                    maxRank = Math.max(maxRank, d.pair.rank());
                    maxOut = Math.max(maxOut, l.nOut());
                }
            Scratch lora = new Scratch(b, scratch, n, maxRank, maxOut);

            Tensor q3 = q.reshape(n, c.nHead(), c.headDim()), k3 = k.reshape(n, c.nHeadKv(), c.headDim());
            float attScale = (float) (1.0 / Math.sqrt(c.headDim()));
            for (Block blk : blocks) {
                ModelWeights.Layer w = blk.w;
                b.rms_norm(x, c.rmsEps(), cur);
                b.mul(cur, w.attnNorm(), cur);
                apply(blk.q, cur, q, lora);
                apply(blk.k, cur, k, lora);
                apply(blk.v, cur, v, lora);
                if (c.arch().qkNorm()) {
                    Tensor qh = q.reshape((long) n * c.nHead(), c.headDim()), kh = k.reshape((long) n * c.nHeadKv(), c.headDim());
                    b.rms_norm(qh, c.rmsEps(), qh);
                    b.mul(qh, w.qNorm(), qh);
                    b.rms_norm(kh, c.rmsEps(), kh);
                    b.mul(kh, w.kNorm(), kh);
                }
                b.rope(q3, pos, c.nRot(), c.ropeTheta(), c.ropeLayout(), q3);
                b.rope(k3, pos, c.nRot(), c.ropeTheta(), c.ropeLayout(), k3);
                b.copy(k, blk.kCache.slice(pos0, pos0 + n));
                b.copy(v, blk.vCache.slice(pos0, pos0 + n));
                b.attention(q3, blk.kCache, blk.vCache, pos0 + n, pos0, attScale, att);
                apply(blk.o, att.reshape(n, c.qDim()), cur, lora);
                b.add(x, cur, x);

                b.rms_norm(x, c.rmsEps(), cur);
                b.mul(cur, w.ffnNorm(), cur);
                apply(blk.gate, cur, gate, lora);
                apply(blk.up, cur, up, lora);
                b.swiglu(gate, up, gate);
                apply(blk.down, gate, cur, lora);
                b.add(x, cur, x);
            }
            Tensor last = lastOnly ? x.slice(n - 1, n) : x;
            Tensor normed = keep(scratch, b.allocate(DType.F32, last.rows(), c.nEmbd()));
            b.rms_norm(last, c.rmsEps(), normed);
            b.mul(normed, weights.outputNorm(), normed);
            Tensor logits = keep(scratch, b.allocate(DType.F32, last.rows(), c.vocabSize()));
            apply(output, normed, logits, lora);
            return b.readFloats(logits);
        } finally {
            for (Tensor t : scratch) t.close();
        }
    }

    /** Reusable buffers for the LoRA path: A x [n, rank] and B (A x) [n, width]. */
    private record Scratch(Tensor ax, Tensor bax) {
        Scratch(Backend b, List<Tensor> keep, int n, int rank, long width) {
            this(keep(keep, b.allocate(DType.F32, (long) n * rank)), keep(keep, b.allocate(DType.F32, n * width)));
        }
    }

    private void apply(Linear l, Tensor x, Tensor y, Scratch s) {
        if (observer != null) observer.input(l.name, x);
        backend.matmul(x, l.w, y);
        for (Delta d : l.deltas) {
            long n = x.rows();
            Tensor ax = s.ax.slice(0, n * d.pair.rank()).reshape(n, d.pair.rank());
            Tensor bax = s.bax.slice(0, n * l.nOut()).reshape(n, l.nOut());
            backend.matmul(x, d.pair.a(), ax);
            backend.matmul(ax, d.pair.b(), bax);
            backend.scale(bax, d.scale, bax);
            backend.add(y, bax, y);
        }
        if (l.bias != null) backend.add(y, l.bias, y);
    }

    private static Tensor keep(List<Tensor> list, Tensor t) {
        list.add(t);
        return t;
    }

    @Override
    public void close() {
        for (Block blk : blocks) {
            blk.kCache.close();
            blk.vCache.close();
        }
    }
}
