package dev.fabric.graph;

import dev.fabric.backend.Backend;
import dev.fabric.backend.DType;
import dev.fabric.backend.Tensor;
import dev.fabric.model.ModelConfig;
import dev.fabric.model.ModelWeights;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a trainer drives: a model's graph with its trainable parameters (LoRA pairs on chosen weights, or every
 * weight for full training), run forward and backward on batches. Gradients add up over calls until
 * {@link #zeroGrad()}, so micro-batches accumulate; the optimizer reads and writes {@link Param#values()} and
 * {@link Param#grads()} in place. One graph (and buffer plan) per batch shape, built on first use.
 */
public final class TrainingSession implements AutoCloseable {
    /**
     * A micro-batch of {@code batch} rows of {@code ctx} tokens, row-major: token ids, the target of each position
     * (the next token, or -1 where not under the loss), rotary positions, and segment ids (packed examples in one
     * row attend only within their segment).
     */
    public record Batch(int batch, int ctx, int[] tokens, int[] targets, int[] positions, int[] segments) {
        public Batch {
            int n = batch * ctx;
            if (batch <= 0 || ctx <= 0 || tokens.length != n || targets.length != n || positions.length != n
                    || segments.length != n)
                throw new IllegalArgumentException("batch " + batch + " x " + ctx + " needs " + n + " values per array");
        }

        /** One row per sequence, positions 0.., one segment, targets the next token (all under the loss). */
        public static Batch of(int[]... rows) {
            int ctx = rows[0].length;
            int n = rows.length * ctx;
            int[] tok = new int[n], tg = new int[n], pos = new int[n], seg = new int[n];
            for (int r = 0; r < rows.length; r++)
                for (int i = 0; i < ctx; i++) {
                    tok[r * ctx + i] = rows[r][i];
                    tg[r * ctx + i] = i + 1 < ctx ? rows[r][i + 1] : -1;
                    pos[r * ctx + i] = i;
                }
            return new Batch(rows.length, ctx, tok, tg, pos, seg);
        }
    }

    /** A LoRA pair for the weight named {@code weight}: initial A [rank, n_in] and B [n_out, rank] (null: zeros). */
    public record LoraTarget(String weight, int rank, float scale, float dropout, float[] a, float[] b) {}

    /**
     * @param checkpoint recompute each layer in the backward instead of keeping its activations
     * @param lossChunk  tokens per chunk of the output projection and loss
     * @param seed       dropout seed (mixed with the step counter)
     */
    public record Options(boolean checkpoint, int lossChunk, long seed) {
        public static Options defaults() {
            return new Options(false, 64, 0);
        }
    }

    private final ModelConfig config;
    private final Backend backend;
    private final Map<String, Param> weights;
    private final Map<String, List<DecoderGraph.LoraParams>> loras;
    private final List<Param> trainable;
    private final List<Tensor> owned;
    private final Options options;
    private final Map<Long, Entry> graphs = new HashMap<>();
    private long step;

    private record Entry(DecoderGraph.Built built, Executor executor) {}

    private TrainingSession(ModelConfig config, Backend backend, Map<String, Param> weights,
            Map<String, List<DecoderGraph.LoraParams>> loras, List<Param> trainable, List<Tensor> owned, Options options) {
        this.config = config;
        this.backend = backend;
        this.weights = weights;
        this.loras = loras;
        this.trainable = List.copyOf(trainable);
        this.owned = owned;
        this.options = options;
    }

    /** The model's weights by GGUF name (views of the mapped file). */
    public static Map<String, Tensor> named(ModelConfig c, ModelWeights w) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put("token_embd.weight", w.tokenEmbd());
        m.put("output_norm.weight", w.outputNorm());
        if (!c.tiedOutput()) m.put("output.weight", w.output());
        for (int i = 0; i < c.nLayer(); i++) {
            ModelWeights.Layer l = w.layers().get(i);
            String b = "blk." + i + ".";
            m.put(b + "attn_norm.weight", l.attnNorm());
            m.put(b + "attn_q.weight", l.wq());
            m.put(b + "attn_k.weight", l.wk());
            m.put(b + "attn_v.weight", l.wv());
            m.put(b + "attn_output.weight", l.wo());
            if (l.bq() != null) {
                m.put(b + "attn_q.bias", l.bq());
                m.put(b + "attn_k.bias", l.bk());
                m.put(b + "attn_v.bias", l.bv());
            }
            if (l.qNorm() != null) {
                m.put(b + "attn_q_norm.weight", l.qNorm());
                m.put(b + "attn_k_norm.weight", l.kNorm());
            }
            m.put(b + "ffn_norm.weight", l.ffnNorm());
            m.put(b + "ffn_gate.weight", l.wGate());
            m.put(b + "ffn_up.weight", l.wUp());
            m.put(b + "ffn_down.weight", l.wDown());
        }
        return m;
    }

    /** Frozen base weights in their stored types, LoRA pairs trainable. */
    public static TrainingSession lora(ModelConfig c, ModelWeights w, Backend b, List<LoraTarget> targets, Options o) {
        Map<String, Tensor> named = named(c, w);
        Map<String, Param> weights = new LinkedHashMap<>();
        named.forEach((k, v) -> weights.put(k, new Param(k, v, null)));
        Map<String, List<DecoderGraph.LoraParams>> loras = new HashMap<>();
        List<Param> trainable = new ArrayList<>();
        List<Tensor> owned = new ArrayList<>();
        for (LoraTarget t : targets) {
            Tensor base = named.get(t.weight());
            if (base == null || base.rank() != 2)
                throw new IllegalArgumentException("LoRA target " + t.weight() + " is not a matrix of the model");
            Param a = trainableParam(b, owned, t.weight() + ".lora_a", t.a(), t.rank(), base.dim(1));
            Param bb = trainableParam(b, owned, t.weight() + ".lora_b", t.b(), base.dim(0), t.rank());
            trainable.add(a);
            trainable.add(bb);
            loras.computeIfAbsent(t.weight(), k -> new ArrayList<>()).add(new DecoderGraph.LoraParams(a, bb, t.scale(), t.dropout()));
        }
        return new TrainingSession(c, b, weights, loras, trainable, owned, o);
    }

    /** Every weight trainable: F32 copies of the (F32, F16 or BF16) weights. */
    public static TrainingSession full(ModelConfig c, ModelWeights w, Backend b, Options o) {
        Map<String, Param> weights = new LinkedHashMap<>();
        List<Param> trainable = new ArrayList<>();
        List<Tensor> owned = new ArrayList<>();
        for (var e : named(c, w).entrySet()) {
            Tensor src = e.getValue();
            if (src.type() != DType.F32 && src.type() != DType.F16 && src.type() != DType.BF16)
                throw new IllegalArgumentException("full training needs F32/F16/BF16 weights; " + e.getKey() + " is " + src.type());
            Tensor v = b.allocate(DType.F32, src.shape());
            owned.add(v);
            Tensor table = src.rank() == 1 ? src.reshape(1, src.dim(0)) : src;
            Tensor ids = b.allocate(DType.I32, table.dim(0));
            int[] idx = new int[(int) table.dim(0)];
            for (int i = 0; i < idx.length; i++) idx[i] = i;
            b.write(ids, idx);
            b.get_rows(table, ids, v.reshape(table.dim(0), table.dim(1)));
            ids.close();
            Tensor grad = b.allocate(DType.F32, src.shape());
            owned.add(grad);
            Param p = new Param(e.getKey(), v, grad);
            weights.put(e.getKey(), p);
            trainable.add(p);
        }
        return new TrainingSession(c, b, weights, Map.of(), trainable, owned, o);
    }

    private static Param trainableParam(Backend b, List<Tensor> owned, String name, float[] init, long rows, long cols) {
        Tensor v = b.allocate(DType.F32, rows, cols), g = b.allocate(DType.F32, rows, cols);
        owned.add(v);
        owned.add(g);
        if (init != null) {
            if (init.length != rows * cols)
                throw new IllegalArgumentException(name + ": " + init.length + " initial values, expected " + rows * cols);
            b.write(v, init);
        }
        return new Param(name, v, g);
    }

    public ModelConfig config() {
        return config;
    }

    /** The trainable parameters (LoRA A/B pairs in target order, or every weight). */
    public List<Param> trainable() {
        return trainable;
    }

    /** A parameter by name (base weights by GGUF name, LoRA by {@code <weight>.lora_a/.lora_b}), or null. */
    public Param param(String name) {
        Param p = weights.get(name);
        if (p != null) return p;
        for (Param t : trainable) if (t.name().equals(name)) return t;
        return null;
    }

    /** Sets the step counter that dropout masks are drawn from (for resume). */
    public void step(long step) {
        this.step = step;
    }

    public void zeroGrad() {
        for (Param p : trainable) p.zeroGrad();
    }

    /** Forward and backward of the loss sum; gradients of the sum add into the parameters'. */
    public Executor.Result forwardBackward(Batch batch) {
        return forwardBackward(batch, 1f);
    }

    /**
     * Forward and backward with the gradient scaled by {@code gradScale} (e.g. 1 / the targets of the whole
     * accumulated step, so the gradients are those of the mean loss). Returns the loss sum and target count.
     */
    public Executor.Result forwardBackward(Batch batch, float gradScale) {
        Entry e = entry(batch.batch(), batch.ctx());
        DecoderGraph.Built bt = e.built();
        for (int id : batch.tokens())
            if (id < 0 || id >= config.vocabSize())
                throw new IllegalArgumentException("token id " + id + " is outside the vocabulary of " + config.vocabSize());
        for (int id : batch.targets())
            if (id < -1 || id >= config.vocabSize())
                throw new IllegalArgumentException("target " + id + " is neither -1 nor in the vocabulary of " + config.vocabSize());
        Map<Node, int[]> in = new java.util.IdentityHashMap<>();
        in.put(bt.tokens(), batch.tokens());
        in.put(bt.targets(), batch.targets());
        in.put(bt.positions(), batch.positions());
        in.put(bt.segments(), batch.segments());
        long seed = options.seed() * 0x2545F4914F6CDD1DL + step++;
        return e.executor().run(in, gradScale, seed);
    }

    /** The memory the step on this batch shape plans for, by category. */
    public MemoryPlan plan(int batch, int ctx, int threads) {
        return entry(batch, ctx).executor().memoryPlan(threads);
    }

    /** The graph for a batch shape (forward and backward), for inspection. */
    public Graph graph(int batch, int ctx) {
        return entry(batch, ctx).built().graph();
    }

    private Entry entry(int batch, int ctx) {
        long key = (long) batch << 32 | ctx;
        Entry e = graphs.get(key);
        if (e == null) {
            DecoderGraph.Built bt = DecoderGraph.build(config, weights::get, loras, batch, ctx, options.lossChunk());
            Autodiff.backward(bt.graph(), options.checkpoint());
            e = new Entry(bt, new Executor(bt.graph(), backend));
            graphs.put(key, e);
        }
        return e;
    }

    @Override
    public void close() {
        for (Entry e : graphs.values()) e.executor().close();
        graphs.clear();
        for (Tensor t : owned) t.close();
    }

    @Override
    public String toString() {
        return "TrainingSession(" + config.arch() + ", " + trainable.size() + " trainable tensors "
                + Arrays.toString(trainable.stream().limit(4).map(Param::name).toArray()) + "...)";
    }
}
