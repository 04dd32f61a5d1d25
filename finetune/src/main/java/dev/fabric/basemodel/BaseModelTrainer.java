package dev.fabric.basemodel;

import dev.fabric.backend.Backend;
import dev.fabric.graph.Param;
import dev.fabric.graph.TrainingSession;
import dev.fabric.model.Arch;
import dev.fabric.model.Model;
import dev.fabric.model.ModelConfig;
import dev.fabric.template.ChatTemplate;
import dev.fabric.tokenizer.BpeTrainer;
import dev.fabric.tokenizer.Tokenizer;
import dev.fabric.tokenizer.Vocabulary;
import dev.fabric.train.AdamW;
import dev.fabric.train.BatchSource;
import dev.fabric.train.LrSchedule;
import dev.fabric.train.StepRecord;
import dev.fabric.train.Trainer;
import dev.fabric.tune.GraphStepModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Consumer;

/**
 * Makes Fabric's own base model from nothing but a seed: generates the corpus ({@link Corpus#pretraining}),
 * learns a byte-level BPE vocabulary on it, initialises a small decoder ({@link BaseModelFile#initialWeights})
 * and trains every weight with AdamW on the ChatML-rendered corpus (next-token loss on every token, documents
 * joined by end-of-text and cut into windows of the context length), then writes the GGUF.
 */
public final class BaseModelTrainer {
    /** Everything the model is a function of. */
    public record Spec(Arch arch, int nEmbd, int nLayer, int nHead, int nHeadKv, int headDim, int nFf, int vocabSize,
            int context, int documents, long seed, int updates, int batch, double lr, int warmup) {
        public ModelConfig config(int actualVocab) {
            return new ModelConfig(arch, nEmbd, nLayer, nHead, nHeadKv, headDim, nFf, 1e-6f, 10_000f, headDim,
                    actualVocab, true, context);
        }
    }

    /** The spec fields as a YAML file names them, in {@link Spec}'s order. */
    private static final List<String> KEYS = List.of("arch", "embedding", "layers", "heads", "kv_heads", "head_dim",
            "ffn", "vocab", "context", "documents", "seed", "updates", "batch", "lr", "warmup");

    /** Reads a spec from a YAML file with exactly the keys of {@link #KEYS}; errors name the file and key. */
    public static Spec load(Path file) throws IOException {
        Object root;
        try (var in = Files.newBufferedReader(file)) {
            root = new org.snakeyaml.engine.v2.api.Load(org.snakeyaml.engine.v2.api.LoadSettings.builder().build())
                    .loadFromReader(in);
        } catch (org.snakeyaml.engine.v2.exceptions.YamlEngineException e) {
            throw new dev.fabric.FabricException(file + ": not valid YAML: " + e.getMessage());
        }
        if (!(root instanceof Map<?, ?> m)) throw new dev.fabric.FabricException(file + ": expected a mapping of " + KEYS);
        for (Object k : m.keySet())
            if (!KEYS.contains(String.valueOf(k)))
                throw new dev.fabric.FabricException(file + ": unknown key '" + k + "' (keys: " + String.join(", ", KEYS) + ")");
        for (String k : KEYS) if (!m.containsKey(k)) throw new dev.fabric.FabricException(file + ": missing key '" + k + "'");
        try {
            return new Spec(Arch.of(String.valueOf(m.get("arch")), file.toString()), num(m, "embedding", file), num(m, "layers", file),
                    num(m, "heads", file), num(m, "kv_heads", file), num(m, "head_dim", file), num(m, "ffn", file),
                    num(m, "vocab", file), num(m, "context", file), num(m, "documents", file), num(m, "seed", file),
                    num(m, "updates", file), num(m, "batch", file), ((Number) m.get("lr")).doubleValue(), num(m, "warmup", file));
        } catch (ClassCastException e) {
            throw new dev.fabric.FabricException(file + ": lr must be a number");
        }
    }

    private static int num(Map<?, ?> m, String key, Path file) {
        if (!(m.get(key) instanceof Number n) || n.doubleValue() != Math.rint(n.doubleValue()) || n.longValue() < 0
                || n.longValue() > Integer.MAX_VALUE)
            throw new dev.fabric.FabricException(file + ": " + key + " must be a non-negative whole number, got " + m.get(key));
        return n.intValue();
    }

    public static final List<String> SPECIALS = List.of("<|endoftext|>", "<|im_start|>", "<|im_end|>");

    private BaseModelTrainer() {}

    /** Trains and writes the model to {@code out}; {@code progress} sees every optimizer step. */
    public static ModelConfig train(Spec s, Backend backend, Path out, Consumer<StepRecord> progress) throws IOException {
        List<String> rows = Corpus.pretraining(s.seed(), s.documents());
        ChatTemplate chatml = ChatTemplate.named("chatml");
        List<String> texts = new ArrayList<>(rows.size());
        for (String r : rows) texts.add(chatml.render(Corpus.messages(r), false, Map.of()));
        Vocabulary v = BpeTrainer.train(texts, "qwen2", s.vocabSize(), SPECIALS, "<|endoftext|>").vocabulary();
        ModelConfig c = s.config(v.size());

        Tokenizer tok = Tokenizer.of(v);
        int eos = v.eosId();
        int[] stream = tokens(texts, tok, eos);

        Path init = Files.createTempFile(out.toAbsolutePath().getParent(), ".fabric-base-init", ".gguf");
        try {
            BaseModelFile.write(init, c, v, "fabric-base init", BaseModelFile.initialWeights(c, s.seed()));
            try (Model m = Model.open(init, backend);
                    TrainingSession session = TrainingSession.full(c, m.weights(), backend,
                            new TrainingSession.Options(false, 64, s.seed()))) {
                GraphStepModel model = new GraphStepModel(session);
                Trainer<TrainingSession.Batch> trainer = new Trainer<>(model, new Windows(stream, s.context(), s.batch(), s.seed()),
                        new Trainer.Config(s.updates(), 1, new LrSchedule(LrSchedule.Kind.COSINE, s.lr(), s.warmup(), s.updates()),
                                1.0, new AdamW.Config(0.9, 0.95, 1e-8, 0.1), 5, s.seed()));
                trainer.run(progress);
                Map<String, float[]> weights = new LinkedHashMap<>();
                for (Param p : session.trainable()) {
                    float[] x = new float[(int) p.numel()];
                    p.values().get(0, x);
                    weights.put(p.name(), x);
                }
                BaseModelFile.write(out, c, v, "fabric-base", weights);
            }
        } finally {
            Files.deleteIfExists(init);
        }
        return c;
    }

    static int[] tokens(List<String> texts, Tokenizer tok, int eos) {
        List<int[]> parts = new ArrayList<>(texts.size());
        long n = 0;
        for (String t : texts) {
            int[] ids = tok.encode(t, false, true);
            parts.add(ids);
            n += ids.length + 1;
        }
        int[] out = new int[Math.toIntExact(n)];
        int k = 0;
        for (int[] p : parts) {
            System.arraycopy(p, 0, out, k, p.length);
            k += p.length;
            out[k++] = eos;
        }
        return out;
    }

    /**
     * Micro-batches of {@code batch} windows of {@code ctx + 1} tokens from the stream (inputs and next-token
     * targets), the windows in a seeded order reshuffled each epoch.
     */
    static final class Windows implements BatchSource<TrainingSession.Batch> {
        private final int[] stream;
        private final int ctx, batch;
        private final long seed;
        private final int count;
        private int[] order;
        private int epoch, next;

        Windows(int[] stream, int ctx, int batch, long seed) {
            this.stream = stream;
            this.ctx = ctx;
            this.batch = batch;
            this.seed = seed;
            this.count = (stream.length - 1) / ctx;
            if (count < 1) throw new IllegalArgumentException("corpus of " + stream.length + " tokens is shorter than one window");
            shuffle();
        }

        private void shuffle() {
            order = new int[count];
            for (int i = 0; i < count; i++) order[i] = i;
            SplittableRandom r = new SplittableRandom(seed * 31 + epoch);
            for (int i = count - 1; i > 0; i--) {
                int j = r.nextInt(i + 1), t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
        }

        @Override
        public TrainingSession.Batch next() {
            int n = batch * ctx;
            int[] tok = new int[n], tg = new int[n], pos = new int[n], seg = new int[n];
            for (int b = 0; b < batch; b++) {
                if (next == count) {
                    epoch++;
                    next = 0;
                    shuffle();
                }
                int start = order[next++] * ctx;
                for (int i = 0; i < ctx; i++) {
                    tok[b * ctx + i] = stream[start + i];
                    tg[b * ctx + i] = stream[start + i + 1];
                    pos[b * ctx + i] = i;
                }
            }
            return new TrainingSession.Batch(batch, ctx, tok, tg, pos, seg);
        }

        @Override
        public byte[] state() {
            return new Position(epoch, next).bytes();
        }

        @Override
        public void restore(byte[] state) {
            Position p = Position.of(state);
            epoch = p.epoch();
            next = p.next();
            shuffle();
        }
    }
}
