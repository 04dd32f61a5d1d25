package dev.fabric.template;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.lang.reflect.Array;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * JSON the way chat templates expect it. Writing follows Python's {@code json.dumps(x, ensure_ascii=False)},
 * which is what Hugging Face's {@code tojson} filter calls: separators {@code ", "} and {@code ": "} (or
 * {@code ","} and newline-indent with {@code indent}), non-ASCII text kept as is, so a tool schema renders
 * byte for byte as in the model's training data. Reading uses jackson-core's streaming parser only (no
 * databind) into plain maps and lists.
 */
final class PyJson {
    private PyJson() {}

    static String dumps(Object value, int indent) {
        StringBuilder sb = new StringBuilder();
        write(sb, value, indent, 0);
        return sb.toString();
    }

    private static void write(StringBuilder sb, Object v, int indent, int depth) {
        if (v == null) {
            sb.append("null");
        } else if (v instanceof CharSequence s) {
            quote(sb, s.toString());
        } else if (v instanceof Boolean b) {
            sb.append(b ? "true" : "false");
        } else if (v instanceof Double || v instanceof Float) {
            double d = ((Number) v).doubleValue();
            // Python writes NaN/Infinity bare (allow_nan=True) and integral floats as "1.0", as Java does.
            sb.append(Double.isNaN(d) ? "NaN" : Double.isInfinite(d) ? (d > 0 ? "Infinity" : "-Infinity") : pyFloat(d));
        } else if (v instanceof Number n) {
            sb.append(n.toString());
        } else if (v instanceof Map<?, ?> m) {
            writeContainer(sb, '{', '}', m.entrySet(), indent, depth, (e, d) -> {
                var en = (Map.Entry<?, ?>) e;
                quote(sb, String.valueOf(en.getKey()));
                sb.append(": ");
                write(sb, en.getValue(), indent, d);
            });
        } else if (v instanceof Iterable<?> it) {
            writeContainer(sb, '[', ']', it, indent, depth, (e, d) -> write(sb, e, indent, d));
        } else if (v.getClass().isArray()) {
            List<Object> l = new ArrayList<>();
            for (int i = 0; i < Array.getLength(v); i++) l.add(Array.get(v, i));
            write(sb, l, indent, depth);
        } else {
            quote(sb, v.toString());
        }
    }

    private interface ElementWriter {
        void write(Object element, int depth);
    }

    private static void writeContainer(StringBuilder sb, char open, char close, Iterable<?> items, int indent,
            int depth, ElementWriter w) {
        sb.append(open);
        boolean first = true;
        for (Object e : items) {
            if (!first) sb.append(indent < 0 ? ", " : ",");
            if (indent >= 0) sb.append('\n').append(" ".repeat(indent * (depth + 1)));
            w.write(e, depth + 1);
            first = false;
        }
        if (!first && indent >= 0) sb.append('\n').append(" ".repeat(indent * depth));
        sb.append(close);
    }

    private static String pyFloat(double d) {
        String s = Double.toString(d);
        int e = s.indexOf('E');
        if (e < 0) return s;
        // Java "1.0E-5" -> Python "1e-05"; mantissa ".0" dropped, exponent signed and at least two digits.
        String mant = s.substring(0, e);
        if (mant.endsWith(".0")) mant = mant.substring(0, mant.length() - 2);
        int exp = Integer.parseInt(s.substring(e + 1));
        return mant + "e" + (exp < 0 ? "-" : "+") + (Math.abs(exp) < 10 ? "0" : "") + Math.abs(exp);
    }

    private static void quote(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                case '\b' -> sb.append("\\b");
                case '\f' -> sb.append("\\f");
                default -> {
                    if (c < 0x20) sb.append(String.format("\\u%04x", (int) c));
                    else sb.append(c);
                }
            }
        }
        sb.append('"');
    }

    /** Parses one JSON value into maps (insertion-ordered), lists, strings, numbers, booleans and nulls. */
    static Object parse(JsonParser p) throws IOException {
        JsonToken t = p.currentToken() == null ? p.nextToken() : p.currentToken();
        if (t == null) throw new IOException("empty input");
        return switch (t) {
            case START_OBJECT -> {
                Map<String, Object> m = new LinkedHashMap<>();
                while (p.nextToken() != JsonToken.END_OBJECT) {
                    String k = p.currentName();
                    p.nextToken();
                    m.put(k, parse(p));
                }
                yield m;
            }
            case START_ARRAY -> {
                List<Object> l = new ArrayList<>();
                while (p.nextToken() != JsonToken.END_ARRAY) l.add(parse(p));
                yield l;
            }
            case VALUE_STRING -> p.getText();
            case VALUE_NUMBER_INT -> p.getNumberValue();
            case VALUE_NUMBER_FLOAT -> p.getDoubleValue();
            case VALUE_TRUE -> true;
            case VALUE_FALSE -> false;
            case VALUE_NULL -> null;
            default -> throw new IOException("unexpected JSON token " + t);
        };
    }
}
