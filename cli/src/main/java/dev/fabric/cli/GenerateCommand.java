package dev.fabric.cli;

import dev.fabric.FabricException;
import dev.fabric.sample.Penalties;
import dev.fabric.sample.Sampler;
import dev.fabric.sample.SamplerConfig;
import dev.fabric.template.ChatMessage;
import dev.fabric.template.ChatTemplate;
import dev.fabric.tokenizer.TokenDecoder;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code fabric generate}: text continuation or a chat reply, streamed to stdout as it is generated. */
@Command(name = "generate", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Generates text with a GGUF model (optionally with LoRA adapters), streaming it to stdout.",
            "Without --chat the prompt is echoed first as llama-simple prints it (special tokens such as BOS "
                    + "shown); --temp 0 is greedy and prints llama-simple's continuation.",
            "Sampling follows llama.cpp's default chain: top-k, top-p, min-p, temperature."},
        footer = {"", "Examples:", "  fabric generate -m model.gguf -p 'Once upon a time' -n 64 --temp 0",
            "  fabric generate -m qwen3.gguf --lora adapter.gguf --chat -p 'What is a beta blocker?' --seed 1"})
final class GenerateCommand implements Callable<Integer> {
    @Mixin
    ModelOptions modelOptions;

    @Option(names = {"-p", "--prompt"}, paramLabel = "TEXT", description = "The prompt (with --chat: the user message).")
    String prompt = "";

    @Option(names = "--chat", description = "Wrap the prompt in the model's chat template as a user turn; "
            + "without -p, chat interactively (one message per line on stdin).")
    boolean chat;

    @Option(names = {"-n", "--n-predict"}, paramLabel = "N", defaultValue = "128",
            description = "Tokens to generate at most (default: ${DEFAULT-VALUE}); stops early at end of generation.")
    int nPredict;

    @Option(names = "--temp", paramLabel = "T", defaultValue = "0.8", description = "Temperature; 0 = greedy (default: ${DEFAULT-VALUE}).")
    float temp;

    @Option(names = "--top-k", paramLabel = "K", defaultValue = "40", description = "Top-k; 0 = off (default: ${DEFAULT-VALUE}).")
    int topK;

    @Option(names = "--top-p", paramLabel = "P", defaultValue = "0.95", description = "Top-p; 1 = off (default: ${DEFAULT-VALUE}).")
    float topP;

    @Option(names = "--min-p", paramLabel = "P", defaultValue = "0.05", description = "Min-p; 0 = off (default: ${DEFAULT-VALUE}).")
    float minP;

    @Option(names = "--seed", paramLabel = "N", description = "Random seed (default: a random one, printed).")
    Long seed;

    @Option(names = "--repeat-penalty", paramLabel = "X", defaultValue = "1.0",
            description = "Penalise tokens seen in the last --repeat-last-n: logit / X (or * X when negative); 1 = off "
                    + "(default: ${DEFAULT-VALUE}).")
    float repeatPenalty;

    @Option(names = "--repeat-last-n", paramLabel = "N", defaultValue = "64",
            description = "How many recent tokens (prompt and output) the penalties look at; 0 = off, -1 = all "
                    + "(default: ${DEFAULT-VALUE}).")
    int repeatLastN;

    @Option(names = "--frequency-penalty", paramLabel = "X", defaultValue = "0.0",
            description = "Subtract X times a token's count in that window from its logit; 0 = off (default: ${DEFAULT-VALUE}).")
    float frequencyPenalty;

    @Option(names = "--presence-penalty", paramLabel = "X", defaultValue = "0.0",
            description = "Subtract X from the logit of any token in that window; 0 = off (default: ${DEFAULT-VALUE}).")
    float presencePenalty;

    @Option(names = {"-c", "--ctx"}, paramLabel = "N", defaultValue = "0",
            description = "Context (KV cache) size in tokens (default: the model's, at most 4096).")
    int ctx;

    @Override
    public Integer call() throws IOException {
        checkNumbers();
        long s = seed != null ? seed : new java.util.Random().nextLong();
        Sampler sampler = new Sampler(new SamplerConfig(temp, topK, topP, minP, s),
                new Penalties(repeatPenalty, repeatLastN, frequencyPenalty, presencePenalty));
        PrintStream out = new PrintStream(System.out, false, StandardCharsets.UTF_8); // UTF-8 whatever the locale
        try (Engine e = new Engine(modelOptions, ctx, Integer.MAX_VALUE, false, System.err)) {
            if (!sampler.config().isGreedy()) System.err.println("sampling: " + sampler.config());
            if (!chat) {
                int[] ids = e.tokenizer.encode(prompt, true, true);
                for (int id : ids) out.write(e.tokenizer.pieceBytes(id, true));
                out.flush();
                run(e, ids, new int[0], sampler, out);
                return 0;
            }
            ChatTemplate t = ChatTemplate.fromGguf(e.model.file().metadata());
            List<ChatMessage> messages = new ArrayList<>();
            if (!prompt.isEmpty()) {
                messages.add(ChatMessage.user(prompt));
                run(e, chatIds(e, t, messages), new int[0], sampler, out);
                return 0;
            }
            // interactive: one user line per turn; the cache keeps the tokens the next rendering shares
            BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            int[] cached = new int[0];
            System.err.println("chat: one message per line; an empty line or end of input quits");
            while (true) {
                System.err.print("> ");
                System.err.flush();
                String line = readLine(in);
                if (line == null || line.isBlank()) break;
                messages.add(ChatMessage.user(line));
                int[] ids = chatIds(e, t, messages);
                Turn turn = run(e, ids, cached, sampler, out);
                messages.add(ChatMessage.assistant(turn.text));
                cached = turn.evaluated;
            }
        }
        return 0;
    }

    /** The sampling options' ranges (llama.cpp's meanings: top-k 0, top-p 1, min-p 0, penalty 1 are "off"). */
    private void checkNumbers() {
        Limits.atLeast(nPredict, 0, "-n");
        Limits.atLeast(temp, 0.0, "--temp");
        Limits.atLeast(topK, 0, "--top-k");
        Limits.above(topP, 0, 1, "--top-p");
        if (!(minP >= 0 && minP < 1)) throw Limits.usage("--min-p must be at least 0 and below 1, got " + minP);
        Limits.above(repeatPenalty, 0, 1e6, "--repeat-penalty");
        Limits.atLeast(repeatLastN, -1, "--repeat-last-n");
        Limits.between(frequencyPenalty, -1e6, 1e6, "--frequency-penalty");
        Limits.between(presencePenalty, -1e6, 1e6, "--presence-penalty");
    }

    /** The longest chat message read from stdin, in characters (far more than any context holds). */
    static final int MAX_LINE = 1 << 22;

    /** One line of stdin (without its end), null at the end of input; a line of more than MAX_LINE characters is an error. */
    static String readLine(BufferedReader in) throws IOException {
        StringBuilder sb = new StringBuilder();
        int c;
        while ((c = in.read()) >= 0) {
            if (c == '\n') return sb.length() > 0 && sb.charAt(sb.length() - 1) == '\r' ? sb.substring(0, sb.length() - 1) : sb.toString();
            if (sb.length() >= MAX_LINE)
                throw new FabricException("a chat message on standard input is longer than " + MAX_LINE
                        + " characters (no line end); one message per line", FabricException.EXIT_INPUT, null);
            sb.append((char) c);
        }
        return sb.isEmpty() ? null : sb.toString();
    }

    private int[] chatIds(Engine e, ChatTemplate t, List<ChatMessage> messages) {
        String text = t.render(messages, true, Map.of());
        return e.tokenizer.encode(text, !startsWithBos(e, text), true);
    }

    /** What one generation left: its text, and the tokens now in the KV cache (prompt plus fed-back tokens). */
    private record Turn(String text, int[] evaluated) {}

    /**
     * Evaluates {@code ids} (reusing the cache for the prefix shared with {@code cached}), then samples up to -n
     * tokens, streaming their text.
     */
    private Turn run(Engine e, int[] ids, int[] cached, Sampler sampler, PrintStream out) throws IOException {
        if (ids.length == 0) throw new FabricException("the prompt is empty (and the model adds no BOS)", FabricException.EXIT_USAGE, null);
        if (ids.length >= e.nCtx)
            throw new FabricException("the prompt has " + ids.length + " tokens but the context holds " + e.nCtx
                    + (ctx == 0 ? " (" + modelOptions.model + "'s context_length)" : "")
                    + " (use a larger --ctx or a shorter prompt)", FabricException.EXIT_USAGE, null);
        int reuse = 0;
        while (reuse < cached.length && reuse < ids.length - 1 && cached[reuse] == ids[reuse]) reuse++;
        List<Integer> evaluated = new ArrayList<>();
        for (int id : ids) evaluated.add(id);
        TokenDecoder dec = e.tokenizer.newDecoder(true);
        StringBuilder text = new StringBuilder();
        long t0 = System.nanoTime();
        for (int i = reuse; i < ids.length; i++) sampler.accept(ids[i]); // earlier turns were accepted then
        float[] logits = e.session.forward(Arrays.copyOfRange(ids, reuse, ids.length), reuse, true);
        long t1 = System.nanoTime();
        int pos = ids.length, generated = 0;
        int vocab = e.session.config().vocabSize();
        while (generated < nPredict) {
            int next = sampler.sample(logits, 0, vocab);
            sampler.accept(next);
            generated++;
            if (e.tokenizer.isEndOfGeneration(next)) break;
            String piece = dec.push(next);
            text.append(piece);
            out.print(piece);
            out.flush();
            if (pos >= e.nCtx) {
                System.err.println();
                System.err.println("(stopped: the context of " + e.nCtx + " tokens is full)");
                break;
            }
            if (generated == nPredict) break;
            logits = e.session.forward(new int[] {next}, pos++, true);
            evaluated.add(next);
        }
        String tail = dec.finish();
        text.append(tail);
        out.print(tail);
        out.println();
        out.flush();
        long t2 = System.nanoTime();
        System.err.printf(Locale.ROOT, "prompt: %d tokens (%d from the cache), %.2f tokens/s; generation: %d tokens, "
                        + "%.2f tokens/s%n", ids.length, reuse, (ids.length - reuse) / ((t1 - t0) / 1e9), generated,
                generated == 0 ? 0 : generated / ((t2 - t1) / 1e9));
        return new Turn(text.toString(), evaluated.stream().mapToInt(Integer::intValue).toArray());
    }

    /** Templates that write BOS themselves (e.g. Llama 3's) must not get a second one from the tokenizer. */
    private static boolean startsWithBos(Engine e, String text) {
        int bos = e.tokenizer.bosId();
        return bos >= 0 && text.startsWith(e.tokenizer.tokenText(bos));
    }
}
