/**
 * Decoder models (llama, qwen2, qwen3) run on a {@link dev.fabric.backend.Backend}.
 *
 * <pre>{@code
 * Backend cpu = Backends.open(2);   // the configured backend (FABRIC_BACKEND, default cpu)
 * try (Model m = Model.open(Path.of("model.gguf"), cpu);
 *      LoraAdapter lora = LoraAdapter.load(Path.of("adapter.gguf"), cpu);
 *      Transformer t = m.newSession(4096, List.of(new Transformer.AppliedLora(lora, 1f)))) {
 *     Tokenizer tok = Tokenizer.fromGguf(m.file().metadata());
 *     int[] out = Generator.greedy(t, tok.encode("Hello", true, false), 32, tok::isEndOfGeneration);
 *     Perplexity.Result r = Perplexity.compute(t, tok.encode(text, true, false), 512, tok.bosId(), null);
 * }
 * }</pre>
 *
 * {@link dev.fabric.model.ModelConfig} comes from GGUF metadata; {@link dev.fabric.model.ModelWeights} are
 * zero-copy views of the mapped file in their stored types; {@link dev.fabric.model.Transformer} is the forward
 * pass (model code sees only Backend ops).
 */
package dev.fabric.model;
