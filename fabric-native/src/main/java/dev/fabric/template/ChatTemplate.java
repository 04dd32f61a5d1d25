package dev.fabric.template;

import dev.fabric.gguf.GgufMetadata;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * A model's chat template: Jinja text as Hugging Face tokenizers carry it (and GGUF files under
 * {@code tokenizer.chat_template}), rendered with Jinjava set up to act like Hugging Face's Jinja2
 * environment (see {@link JinjaEngine}). Built-in templates, written for Fabric, cover models whose file has
 * none: {@code chatml}, {@code qwen3}, {@code llama3}, {@code gemma}.
 */
public final class ChatTemplate {
    /** Names accepted by {@link #named(String)}. */
    public static final List<String> BUILT_IN = List.of("chatml", "qwen3", "llama3", "gemma");

    private final String name;
    private final String source;
    private final JinjaEngine.Parsed parsed;
    private final String endOfTurn;
    private final Map<String, Object> globals;

    private ChatTemplate(String name, String source, String endOfTurn, Map<String, Object> globals) {
        this.name = name;
        this.source = source;
        this.parsed = JinjaEngine.parse(name, TemplateRewriter.rewrite(source));
        this.endOfTurn = endOfTurn;
        this.globals = Map.copyOf(globals);
    }

    /** A built-in template by name (case-insensitive): one of {@link #BUILT_IN}. */
    public static ChatTemplate named(String name) {
        String key = name.toLowerCase(Locale.ROOT);
        if (!BUILT_IN.contains(key)) {
            throw new TemplateException("unknown chat template '" + name + "'; built-in templates: "
                    + String.join(", ", BUILT_IN));
        }
        String resource = key + ".jinja";
        try (InputStream in = ChatTemplate.class.getResourceAsStream(resource)) {
            if (in == null) throw new IllegalStateException("missing resource " + resource);
            String text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            return of(key, text, Map.of());
        } catch (IOException e) {
            throw new IllegalStateException("cannot read resource " + resource, e);
        }
    }

    /**
     * The template a GGUF file carries under {@code tokenizer.chat_template}, with its BOS and EOS token texts
     * as {@code bos_token} / {@code eos_token} (templates such as Llama 3's write {@code bos_token} first).
     *
     * @throws TemplateException if the file has no template (then name a built-in one instead)
     */
    public static ChatTemplate fromGguf(GgufMetadata md) {
        String source = md.getString(KEY, null);
        if (source == null) {
            throw new TemplateException(md.source() + ": no '" + KEY + "' in the metadata; name a built-in chat"
                    + " template instead (" + String.join(", ", BUILT_IN) + ")");
        }
        List<String> tokens = md.has("tokenizer.ggml.tokens") ? md.getStringArray("tokenizer.ggml.tokens") : List.of();
        String name = md.getString("general.name", md.getString("general.architecture", "gguf"));
        return of(name, source, globals(tokenText(md, tokens, "tokenizer.ggml.bos_token_id"),
                tokenText(md, tokens, "tokenizer.ggml.eos_token_id")));
    }

    /**
     * What a {@code --chat-template NAME} option means: the named built-in where {@code name} is given,
     * else the model's own template.
     */
    public static ChatTemplate choose(String name, GgufMetadata md) {
        return name == null || name.isBlank() ? fromGguf(md) : named(name.strip());
    }

    /** The GGUF metadata key of a model's chat template. */
    public static final String KEY = "tokenizer.chat_template";

    private static String tokenText(GgufMetadata md, List<String> tokens, String idKey) {
        long id = md.getLong(idKey, -1);
        return id >= 0 && id < tokens.size() ? tokens.get((int) id) : null;
    }

    /**
     * A template from its Jinja text, e.g. a GGUF's {@code tokenizer.chat_template}.
     *
     * @param globals variables every rendering sees, typically {@code bos_token} and {@code eos_token}
     */
    public static ChatTemplate of(String name, String source, Map<String, Object> globals) {
        Objects.requireNonNull(source, "source");
        Object eos = globals.get("eos_token");
        return new ChatTemplate(name, source, detectEndOfTurn(source, eos instanceof String s ? s : null), globals);
    }

    /**
     * The text that closes an assistant reply (it belongs to the reply for the loss mask): ChatML's
     * {@code <|im_end|>}, Llama 3's {@code <|eot_id|>}, otherwise the EOS token if the template writes it (as
     * {@code eos_token} or literally, as DeepSeek-R1's template does).
     */
    static String detectEndOfTurn(String source, String eosToken) {
        for (String t : List.of("<|im_end|>", "<|eot_id|>", "<|end|>", "<end_of_turn>", "<|endoftext|>")) {
            if (source.contains(t)) return t;
        }
        boolean writesEos = eosToken != null && !eosToken.isEmpty()
                && (source.contains("eos_token") || source.contains(eosToken));
        if (writesEos) return eosToken;
        return null;
    }

    public String name() {
        return name;
    }

    /** The template's Jinja text as given (before the rewrites of {@link TemplateRewriter}). */
    public String source() {
        return source;
    }

    /** The end-of-turn text of an assistant reply, if known. */
    public Optional<String> endOfTurn() {
        return Optional.ofNullable(endOfTurn);
    }

    /** This template with another end-of-turn text (for templates {@link #detectEndOfTurn} cannot read). */
    public ChatTemplate withEndOfTurn(String text) {
        return new ChatTemplate(name, source, text, globals);
    }

    /**
     * Renders a conversation.
     *
     * @param addGenerationPrompt whether to end with the opening of an assistant turn (for inference)
     * @param extra               further template variables, e.g. {@code enable_thinking} (Qwen3) or
     *                            {@code tools} (a list of JSON-like maps); may be null
     */
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt, Map<String, Object> extra) {
        Map<String, Object> ctx = new HashMap<>(globals);
        ctx.put("messages", messages.stream().map(ChatMessage::toTemplateValue).toList());
        ctx.put("add_generation_prompt", addGenerationPrompt);
        if (extra != null) ctx.putAll(extra);
        return JinjaEngine.render(parsed, ctx);
    }

    /** Whether the template marks replies with Hugging Face's {@code {% generation %}} blocks. */
    boolean marksGeneration() {
        return GENERATION_BLOCK.matcher(source).find();
    }

    private static final java.util.regex.Pattern GENERATION_BLOCK =
            java.util.regex.Pattern.compile("\\{%[-+]?\\s*generation\\s*[-+]?%}");

    /** Renders a conversation and finds each assistant reply in the text (see {@link AssistantSpans}). */
    public RenderedConversation renderWithSpans(List<ChatMessage> messages, Map<String, Object> extra) {
        return AssistantSpans.find(this, messages, extra);
    }

    /**
     * One sample per assistant message: the conversation up to and including it, with only that reply as a
     * span. Where a template drops earlier turns' reasoning (Qwen3 keeps it only after the last user query),
     * this still trains every reasoning block, at the cost of repeating the shared prefix in each sample.
     */
    public List<RenderedConversation> renderEachTurn(List<ChatMessage> messages, Map<String, Object> extra) {
        List<RenderedConversation> out = new java.util.ArrayList<>();
        for (int i = 0; i < messages.size(); i++) {
            if (!"assistant".equals(messages.get(i).role())) continue;
            RenderedConversation all = AssistantSpans.find(this, messages.subList(0, i + 1), extra);
            int last = i;
            out.add(new RenderedConversation(all.text(),
                    all.spans().stream().filter(s -> s.messageIndex() == last).toList()));
        }
        return out;
    }

    @Override
    public String toString() {
        return "ChatTemplate[" + name + "]";
    }

    static Map<String, Object> globals(String bos, String eos) {
        Map<String, Object> g = new LinkedHashMap<>();
        if (bos != null) g.put("bos_token", bos);
        if (eos != null) g.put("eos_token", eos);
        return g;
    }
}
