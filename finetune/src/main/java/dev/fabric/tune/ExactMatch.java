package dev.fabric.tune;

import dev.fabric.backend.DType;
import dev.fabric.data.DataFiles;
import dev.fabric.data.Row;
import dev.fabric.lora.LoraAdapter;
import dev.fabric.model.Generator;
import dev.fabric.model.Model;
import dev.fabric.model.Transformer;
import dev.fabric.recipe.Recipe;
import dev.fabric.template.ChatMessage;
import dev.fabric.template.ChatTemplate;
import dev.fabric.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Held-out questions answered greedily by the base model and by the base model with an adapter: the answer
 * counts when it equals the reference reply exactly (after trimming spaces). The questions are chat rows whose
 * last message is the assistant's reference answer; everything before it is the prompt.
 */
public final class ExactMatch {
    /** One question: its prompt text, the reference, and what each model answered. */
    public record Answer(String question, String reference, String base, String tuned) {
        public boolean baseCorrect() {
            return base.strip().equals(reference.strip());
        }

        public boolean tunedCorrect() {
            return tuned.strip().equals(reference.strip());
        }
    }

    private ExactMatch() {}

    public static List<Answer> run(Model model, Path adapterFile, Path questions, ChatTemplate template, int maxTokens)
            throws IOException {
        Tokenizer tok = Tokenizer.fromGguf(model.file().metadata());
        DataFiles.Read read = DataFiles.read(questions, questions.toString(), Recipe.Format.AUTO);
        List<Answer> out = new ArrayList<>();
        try (LoraAdapter adapter = LoraAdapter.load(adapterFile, model.backend())) {
            for (Row row : read.rows()) {
                List<ChatMessage> m = row.messages();
                if (m == null || m.size() < 2 || !m.get(m.size() - 1).role().equals("assistant")) continue;
                List<ChatMessage> prompt = m.subList(0, m.size() - 1);
                int[] ids = tok.encode(template.render(prompt, true, Map.of()), false, true);
                String base = answer(model, List.of(), ids, tok, maxTokens);
                String tuned = answer(model, List.of(new Transformer.AppliedLora(adapter, 1f)), ids, tok, maxTokens);
                out.add(new Answer(prompt.get(prompt.size() - 1).content(), m.get(m.size() - 1).content(), base, tuned));
            }
        }
        return out;
    }

    private static String answer(Model model, List<Transformer.AppliedLora> loras, int[] prompt, Tokenizer tok,
            int maxTokens) {
        try (Transformer t = new Transformer(model.config(), model.weights(), model.backend(), prompt.length + maxTokens,
                DType.F16, loras)) {
            int[] ids = Generator.greedy(t, prompt, maxTokens, tok::isEndOfGeneration);
            int n = ids.length > 0 && tok.isEndOfGeneration(ids[ids.length - 1]) ? ids.length - 1 : ids.length;
            return tok.decode(java.util.Arrays.copyOf(ids, n));
        }
    }
}
