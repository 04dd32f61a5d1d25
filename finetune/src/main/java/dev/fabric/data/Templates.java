package dev.fabric.data;

import dev.fabric.gguf.GgufMetadata;
import dev.fabric.recipe.Recipe;
import dev.fabric.template.ChatTemplate;
import dev.fabric.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.LinkedHashMap;
import java.util.Map;

/** The chat template a recipe asks for: a .jinja file, a built-in by name, else the model's own. */
public final class Templates {
    private Templates() {}

    /**
     * The recipe's template, or the model's own ({@code tokenizer.chat_template}); null where the recipe names
     * none and the model has none (conversation rows are then an error, text rows still work).
     */
    public static ChatTemplate forRecipe(Recipe recipe, GgufMetadata model, Tokenizer tok) {
        if (recipe.templateFile() != null) {
            String text;
            try {
                text = Files.readString(recipe.templateFile(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new DataException("template " + recipe.templateFile() + ": cannot read: " + e.getMessage(),
                        DataException.EXIT_IO, e);
            }
            Map<String, Object> globals = new LinkedHashMap<>();
            if (tok.bosId() >= 0) globals.put("bos_token", tok.tokenText(tok.bosId()));
            if (tok.eosId() >= 0) globals.put("eos_token", tok.tokenText(tok.eosId()));
            return ChatTemplate.of(recipe.templateFile().getFileName().toString(), text, globals);
        }
        if (recipe.template() != null) return ChatTemplate.named(recipe.template());
        return model.has(ChatTemplate.KEY) ? ChatTemplate.fromGguf(model) : null;
    }
}
