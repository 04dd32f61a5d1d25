package dev.fabric.recipe;

import dev.fabric.FabricException;

/**
 * A recipe that cannot be used: the message starts with where the fault is ({@code recipe.yaml:12:5:}, or
 * {@code --set lora.rank=x:}), then the field and what was expected.
 */
public class RecipeException extends FabricException {
    public RecipeException(String message) {
        super(message);
    }

    public RecipeException(String message, Throwable cause) {
        super(message, cause);
    }
}
