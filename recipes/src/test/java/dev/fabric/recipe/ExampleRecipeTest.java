package dev.fabric.recipe;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The shipped example recipe is valid and means what its comments say. */
class ExampleRecipeTest {
    @TempDir
    Path dir;

    @Test
    void medicalQaLoads() throws IOException {
        Path recipe = dir.resolve("medical-qa.yaml");
        try (InputStream in = RecipeLoader.class.getResourceAsStream("examples/medical-qa.yaml")) {
            Files.write(recipe, in.readAllBytes());
        }
        for (String f : List.of("models/qwen3-1.7b-f16.gguf", "data/qa-train.jsonl", "data/ward-notes.txt")) {
            Files.createDirectories(dir.resolve(f).getParent());
            Files.writeString(dir.resolve(f), "");
        }
        Recipe r = RecipeLoader.load(recipe, List.of());
        assertEquals(2, r.stages().size());
        Recipe.Stage qa = r.stages().get(0), notes = r.stages().get(1);
        assertEquals(2.0, qa.epochs());
        assertEquals(0.05, qa.data().validFraction());
        assertEquals(Recipe.Overlong.TRUNCATE, qa.data().overlong());
        assertEquals(Recipe.Format.TEXT, notes.data().format());
        assertEquals(0.0, notes.data().validFraction());
        assertEquals(0.0001, notes.lr());
        assertEquals(0.0002, qa.lr());
        assertEquals(RecipeSchema.LORA_TARGETS, r.lora().targets());
        assertEquals(dir.resolve("runs/medical-qa"), r.output());
    }
}
