package dev.fabric.template;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.exptest.ExpTest;
import java.util.Map;

/**
 * Jinja2's {@code iterable} and {@code sequence} tests as Python answers them: true for strings too (Jinjava
 * says false). Llama 3.1 writes a tool result as {@code content | tojson} when it {@code is iterable}, so a
 * string result is rendered quoted, as transformers renders it.
 */
final class PyTests {
    private PyTests() {}

    static ExpTest named(String name) {
        return new ExpTest() {
            @Override
            public String getName() {
                return name;
            }

            @Override
            public boolean evaluate(Object var, JinjavaInterpreter interpreter, Object... args) {
                return var instanceof CharSequence || var instanceof Iterable<?> || var instanceof Map<?, ?>
                        || (var != null && var.getClass().isArray());
            }
        };
    }
}
