/**
 * Chat templates and loss masks.
 *
 * <p>{@link dev.fabric.template.ChatTemplate} renders a conversation ({@link dev.fabric.template.ChatMessage},
 * read from OpenAI-style JSON with {@link dev.fabric.template.ChatMessage#fromJson(java.nio.file.Path)}) with
 * the model's own Jinja template from its GGUF ({@code tokenizer.chat_template}), or with a built-in one
 * ({@code chatml}, {@code qwen3}, {@code llama3}, {@code gemma}; resources next to these classes, written for Fabric).
 * Templates are rendered by Jinjava made to behave like Hugging Face's Jinja2 environment: Python string
 * methods, Python's {@code json.dumps} for {@code tojson}, {@code raise_exception}, {@code strftime_now},
 * Jinja2's {@code trim_blocks}/{@code lstrip_blocks}, and small source rewrites for syntax Jinjava lacks
 * ({@code x[::-1]}, keyword arguments with operators).
 *
 * <p>{@link dev.fabric.template.MaskedConversation} tokenizes the rendered text once and marks the tokens of
 * the assistant replies, which {@link dev.fabric.template.AssistantSpans} finds without per-model code.
 *
 * <pre>{@code
 * ChatTemplate t = ChatTemplate.fromGguf(gguf.metadata());          // or ChatTemplate.named("llama3")
 * List<ChatMessage> chat = ChatMessage.fromJson(Path.of("chat.json"));
 * String prompt = t.render(chat, true, Map.of("enable_thinking", false));
 * MaskedConversation mc = MaskedConversation.of(t, encoder, chat, null);  // ids + mask for training
 * System.out.println(mc.formatText(false));                       // trained text between [[ and ]]
 * }</pre>
 */
package dev.fabric.template;
