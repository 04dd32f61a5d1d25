package dev.fabric.template;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.el.JinjavaInterpreterResolver;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.filter.Filter;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import com.hubspot.jinjava.tree.Node;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Locale;
import java.util.Map;
import jinjava.javax.el.CompositeELResolver;

/**
 * Jinjava set up to behave like the Jinja2 environment Hugging Face renders chat templates in:
 * {@code trim_blocks} and {@code lstrip_blocks} on (the latter applied by {@link TemplateRewriter}), no
 * nested interpretation of rendered values, Python {@code str} methods ({@link PyStringMethods}), Python's
 * {@code json.dumps} as {@code tojson} (no HTML escaping, as transformers overrides Jinja2's), the globals
 * templates call ({@code raise_exception}, {@code strftime_now}) and the {@code generation} block. What
 * Jinjava's parser reads differently is rewritten first ({@link TemplateRewriter}).
 */
final class JinjaEngine {
    private JinjaEngine() {}

    private static final Jinjava JINJAVA = create();

    private static Jinjava create() {
        CompositeELResolver resolver = new CompositeELResolver();
        resolver.add(new PyStringMethods());
        resolver.add(JinjavaInterpreterResolver.DEFAULT_RESOLVER_READ_ONLY);
        JinjavaConfig config = JinjavaConfig.newBuilder()
                .withTrimBlocks(true)
                .withLstripBlocks(false) // done by TemplateRewriter, as Jinja2 does it
                .withNestedInterpretationEnabled(false) // message text must never be executed as template code
                .withFailOnUnknownTokens(false)
                .withElResolver(resolver)
                .withLegacyOverrides(LegacyOverrides.newBuilder()
                        .withUseNaturalOperatorPrecedence(true)
                        .withParseWhitespaceControlStrictly(true)
                        .withUseTrimmingForNotesAndExpressions(true)
                        .withKeepNullableLoopValues(true)
                        .withIterateOverMapKeys(true)
                        .withEvaluateMapKeys(true)
                        .build())
                .build();
        Jinjava j = new Jinjava(config);
        j.getGlobalContext().registerFilter(new ToJson());
        j.getGlobalContext().registerTag(new GenerationTag());
        j.getGlobalContext().registerExpTest(PyTests.named("iterable"));
        j.getGlobalContext().registerExpTest(PyTests.named("sequence"));
        j.getGlobalContext().registerFunction(new ELFunctionDefinition("", "raise_exception", JinjaEngine.class,
                "raiseException", String.class));
        j.getGlobalContext().registerFunction(new ELFunctionDefinition("", "strftime_now", JinjaEngine.class,
                "strftimeNow", String.class));
        return j;
    }

    /** A template parsed once (Jinjava's node tree is not changed by rendering), rendered many times. */
    static final class Parsed {
        private final String name;
        private final Node root;

        private Parsed(String name, Node root) {
            this.name = name;
            this.root = root;
        }
    }

    /** Parses already-rewritten template text; syntax errors name the template. */
    static Parsed parse(String templateName, String source) {
        JinjavaInterpreter interp = JINJAVA.newInterpreter();
        JinjavaInterpreter.pushCurrent(interp);
        try {
            Node root = interp.parse(source);
            failOnErrors(templateName, interp);
            return new Parsed(templateName, root);
        } catch (TemplateException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new TemplateException("chat template '" + templateName + "': " + rootMessage(e), e);
        } finally {
            JinjavaInterpreter.popCurrent();
        }
    }

    static String render(Parsed template, Map<String, Object> bindings) {
        JinjavaInterpreter interp = JINJAVA.newInterpreter();
        interp.getContext().putAll(bindings);
        JinjavaInterpreter.pushCurrent(interp);
        try {
            String out = interp.render(template.root);
            failOnErrors(template.name, interp);
            return out;
        } catch (TemplateException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new TemplateException("chat template '" + template.name + "': " + rootMessage(e), e);
        } finally {
            JinjavaInterpreter.popCurrent();
        }
    }

    private static void failOnErrors(String templateName, JinjavaInterpreter interp) {
        for (TemplateError err : interp.getErrorsCopy()) {
            if (err.getSeverity() != TemplateError.ErrorType.FATAL) continue;
            String msg = err.getException() != null ? rootMessage(err.getException()) : err.getMessage();
            throw new TemplateException("chat template '" + templateName + "', line " + err.getLineno() + ": " + msg);
        }
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            if (t instanceof RaisedByTemplate) break;
            t = t.getCause();
        }
        return t.getMessage();
    }

    /** What a template's own {@code raise_exception(msg)} throws. */
    static final class RaisedByTemplate extends RuntimeException {
        RaisedByTemplate(String message) {
            super("the template raised: " + message);
        }
    }

    public static Object raiseException(String message) {
        throw new RaisedByTemplate(message);
    }

    /** Python's {@code strftime} for the directives chat templates use (Llama 3.x prints today's date). */
    public static String strftimeNow(String format) {
        LocalDateTime now = LocalDateTime.now();
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < format.length(); i++) {
            char c = format.charAt(i);
            if (c != '%' || i + 1 == format.length()) {
                sb.append(c);
                continue;
            }
            char d = format.charAt(++i);
            String pattern = switch (d) {
                case 'd' -> "dd";
                case 'm' -> "MM";
                case 'Y' -> "yyyy";
                case 'y' -> "yy";
                case 'b' -> "MMM";
                case 'B' -> "MMMM";
                case 'a' -> "EEE";
                case 'A' -> "EEEE";
                case 'H' -> "HH";
                case 'M' -> "mm";
                case 'S' -> "ss";
                default -> null;
            };
            if (pattern == null) sb.append(d == '%' ? "%" : "%" + d);
            else sb.append(now.format(DateTimeFormatter.ofPattern(pattern, Locale.ENGLISH)));
        }
        return sb.toString();
    }

    /** Python's {@code json.dumps} output, with the optional {@code indent} argument (positional or named). */
    static final class ToJson implements Filter {
        @Override
        public String getName() {
            return "tojson";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            return PyJson.dumps(var, args.length > 0 ? Integer.parseInt(args[0].trim()) : -1);
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
            Object indent = kwargs.containsKey("indent") ? kwargs.get("indent") : args.length > 0 ? args[0] : null;
            return PyJson.dumps(var, indent == null ? -1 : ((Number) indent).intValue());
        }
    }
}
