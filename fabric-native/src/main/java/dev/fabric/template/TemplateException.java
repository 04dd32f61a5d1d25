package dev.fabric.template;

import dev.fabric.FabricException;

/** A chat template or a conversation that cannot be rendered; the message names the template or the message. */
public class TemplateException extends FabricException {
    public TemplateException(String message) {
        super(message);
    }

    public TemplateException(String message, Throwable cause) {
        super(message, cause);
    }
}
