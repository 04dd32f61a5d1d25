package dev.fabric.cli;

import dev.fabric.FabricException;
import dev.fabric.backend.Backend;
import dev.fabric.backend.Backends;
import dev.fabric.io.TextInput;
import dev.fabric.lora.LoraAdapter;
import dev.fabric.model.Model;
import dev.fabric.model.ModelConfig;
import dev.fabric.model.Transformer;
import dev.fabric.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** A model opened for a command: weights, adapters, tokenizer and a session with a KV cache of nCtx. */
final class Engine implements AutoCloseable {
    final Backend backend;
    final Model model;
    final List<LoraAdapter> adapters = new ArrayList<>();
    final Tokenizer tokenizer;
    final Transformer session;
    final int nCtx;
    private final List<Transformer.AppliedLora> applied = new ArrayList<>();
    private final List<Transformer> extraSessions = new ArrayList<>();

    /**
     * Opens everything; nCtx 0 picks a default; {@code batch} is the most tokens one forward call takes, and {@code allLogits} whether it
     * asks for every row's logits (both only for the memory estimate printed on {@code log}).
     */
    Engine(ModelOptions o, int nCtx, int batch, boolean allLogits, PrintStream log) throws IOException {
        if (nCtx < 0) throw Limits.usage("--ctx must be positive (0 = the model's), got " + nCtx);
        Limits.threads(o.threads, "--threads");
        if (!Float.isFinite(o.loraScale))
            throw new FabricException("--lora-scale must be a finite number, got " + o.loraScale, FabricException.EXIT_USAGE, null);
        backend = Backends.open(o.backend, o.threads);
        model = Model.open(o.model, backend);
        try {
            // 0: the model's training context, at most 4096 (llama.cpp's default)
            this.nCtx = nCtx > 0 ? nCtx : Math.min(4096, model.config().contextLength());
            batch = Math.min(batch, this.nCtx);
            ModelConfig c = model.config();
            long logits = (long) (allLogits ? batch : 1) * c.vocabSize();
            Limits.context(this.nCtx, c, o.ctxBeyondTraining, kvBytes(c, this.nCtx), scratchBytes(c, batch, allLogits),
                    4 * logits, logits);
            tokenizer = Tokenizer.fromGguf(model.file().metadata());
            for (Path p : o.loras) {
                LoraAdapter a = LoraAdapter.load(p, backend);
                adapters.add(a);
                applied.add(new Transformer.AppliedLora(a, o.loraScale));
            }
            if (log != null) log.println(describe(model.config(), this.nCtx, batch, allLogits, backend.name()));
            session = model.newSession(this.nCtx, applied);
            if (log != null && !session.unusedLoraTensors().isEmpty())
                log.println("note: adapter tensors not applied (not a matmul weight of this model): "
                        + session.unusedLoraTensors());
        } catch (RuntimeException | IOException e) {
            close();
            throw e;
        }
    }

    /** Hyperparameters and the memory the run allocates beyond the mapped weights: F16 KV cache and scratch. */
    static String describe(ModelConfig c, int nCtx, int batch, boolean allLogits, String backendName) {
        long kv = kvBytes(c, nCtx), scratch = scratchBytes(c, batch, allLogits);
        return String.format("model: %s, %d layers, n_embd %d, %d heads (%d KV) of %d, n_ff %d, vocab %d; "
                        + "backend %s%nmemory: KV cache %s (F16, %d positions) + scratch %s (batch %d)",
                c.arch().ggufName(), c.nLayer(), c.nEmbd(), c.nHead(), c.nHeadKv(), c.headDim(), c.nFf(),
                c.vocabSize(), backendName,
                mib(kv), nCtx, mib(scratch), batch);
    }

    /** The F16 K and V caches of every layer. */
    static long kvBytes(ModelConfig c, int nCtx) {
        return 2L * c.nLayer() * nCtx * c.kvDim() * 2;
    }

    /** Activations of one forward call of {@code batch} tokens, and its logits. */
    static long scratchBytes(ModelConfig c, int batch, boolean allLogits) {
        long perToken = 4L * (2L * c.nEmbd() + c.qDim() + 2L * c.kvDim() + c.qDim() + 2L * c.nFf());
        return (long) batch * perToken + 4L * (allLogits ? batch : 1) * (c.vocabSize() + c.nEmbd());
    }

    static String mib(long bytes) {
        return String.format("%.2f MiB", bytes / 1048576.0);
    }

    /**
     * A text input for a run that uses at most {@code tokens} tokens of it ({@code <= 0}: all): reading stops once it
     * holds enough bytes for them (each token covers at most as many bytes as the longest token text), so a huge or
     * endless file is fine with --chunks; otherwise more than {@code maxBytes} is an error naming the file and the
     * limit. The first {@code tokens} tokens are those of the whole file: tokenization is local, and the prefix
     * ends at a line end well past them.
     */
    String readText(Path file, long tokens, long maxBytes, PrintStream log) throws IOException {
        if (tokens <= 0) return TextInput.read(file, maxBytes, MAX_INPUT_OPTION);
        long maxToken = 1;
        for (String t : tokenizer.vocabulary().tokens())
            maxToken = Math.max(maxToken, t.getBytes(java.nio.charset.StandardCharsets.UTF_8).length);
        long want = (tokens + 1) * maxToken + (64 << 10);
        TextInput.Prefix p = TextInput.readPrefix(file, want, maxBytes, MAX_INPUT_OPTION);
        if (p.truncated() && log != null)
            log.printf("%s: read the first %s, enough for the %d tokens the chunks need%n", file, mib(p.bytes()), tokens);
        return p.text();
    }

    static final String MAX_INPUT_OPTION = "--max-input-mib";

    /** The text's tokens as llama-perplexity / llama-imatrix tokenize it: BOS where the vocabulary adds one. */
    int[] tokenizeDocument(String text) {
        return tokenizer.encode(text, true, false);
    }

    /** The id written over each chunk's first token, or -1 when the vocabulary adds no BOS. */
    int chunkBos() {
        return tokenizer.addBosDefault() ? tokenizer.bosId() : -1;
    }

    /** Another session (its own KV cache of nCtx) with the same adapters; closed with this engine. */
    Transformer newSession() {
        Transformer t = model.newSession(nCtx, applied);
        extraSessions.add(t);
        return t;
    }

    @Override
    public void close() {
        for (Transformer t : extraSessions) t.close();
        if (session != null) session.close();
        for (LoraAdapter a : adapters) a.close();
        if (model != null) model.close();
    }
}
