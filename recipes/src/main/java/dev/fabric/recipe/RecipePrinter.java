package dev.fabric.recipe;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * {@code fabric tune --print-recipe}: every field as YAML with a comment line saying what it does and its
 * default, from {@link RecipeSchema}. Printed for the defaults alone, or for a loaded recipe with its
 * effective values (overrides applied) and its hash.
 */
public final class RecipePrinter {
    private RecipePrinter() {}

    /** The full recipe with defaults (the required fields shown as {@code ~}). */
    public static String defaults() {
        return print(null);
    }

    /** The recipe's effective values, or the defaults when {@code r} is null. */
    public static String print(Recipe r) {
        StringBuilder sb = new StringBuilder();
        sb.append("# Fabric fine-tuning recipe (fabric tune RECIPE.yaml). Paths are relative to this file.\n");
        sb.append("# Each field: what it does and its default; ~ means unset.\n");
        if (r != null) {
            sb.append("# effective values (overrides applied); recipe hash ").append(r.hash()).append('\n');
        }
        String section = "";
        for (Field f : RecipeSchema.FIELDS) {
            int dot = f.key().indexOf('.');
            String sec = dot < 0 ? "" : f.key().substring(0, dot);
            if (!sec.equals(section)) {
                sb.append('\n');
                if (!sec.isEmpty()) sb.append(sec).append(":\n");
                section = sec;
            } else if (sec.isEmpty()) {
                sb.append('\n');
            }
            String indent = sec.isEmpty() ? "" : "  ";
            Object v = r == null ? f.dflt() : r.values().get(f.key());
            sb.append(indent).append("# ").append(f.doc()).append(" (default ")
                    .append(f.dflt() == null ? "unset" : yaml(f.dflt())).append(")\n");
            // A field with a default that the recipe turned off (train.epochs under train.steps) stays commented.
            sb.append(indent).append(v == null && f.dflt() != null ? "# " : "").append(f.leaf()).append(": ")
                    .append(yaml(v)).append('\n');
        }
        sb.append('\n');
        sb.append("# stages: a curriculum run in order, continuing one adapter; a stage takes what it leaves out\n");
        sb.append("# from the fields above. A stage's keys:\n");
        for (Field f : RecipeSchema.STAGE_FIELDS) {
            sb.append("#   ").append(f.key()).append(": ").append(f.doc()).append('\n');
        }
        if (r == null || !r.explicitStages()) {
            sb.append("# stages:\n#   - name: basics\n#     data: {train: stage1.jsonl}\n#     epochs: 2\n")
                    .append("#   - name: specialise\n#     data: {train: stage2.arrow}\n#     lr: 0.00005\n")
                    .append("#     schedule: linear\n");
        } else {
            sb.append("stages:\n");
            for (Map<String, Object> st : r.stageValues()) {
                String lead = "  - ";
                List<String> dataParts = new ArrayList<>();
                for (Map.Entry<String, Object> e : st.entrySet()) {
                    if (e.getKey().startsWith("data.")) {
                        dataParts.add(e.getKey().substring(5) + ": " + yaml(e.getValue()));
                    } else {
                        sb.append(lead).append(e.getKey()).append(": ").append(yaml(e.getValue())).append('\n');
                        lead = "    ";
                    }
                }
                sb.append("    data: {").append(String.join(", ", dataParts)).append("}\n");
            }
        }
        return sb.toString();
    }

    private static final Pattern PLAIN = Pattern.compile("[A-Za-z_./][A-Za-z0-9_./+-]*");
    private static final Pattern RESERVED = Pattern.compile("(?i)true|false|null|~|yes|no|on|off|\\.inf|\\.nan");

    /** A value in YAML's flow form: {@code ~}, numbers, booleans, plain or quoted strings, {@code [a, b]}. */
    public static String yaml(Object v) {
        if (v == null) return "~";
        if (v instanceof Double d) {
            String s = BigDecimal.valueOf(d).stripTrailingZeros().toPlainString();
            return s.contains(".") ? s : s + ".0";
        }
        if (v instanceof Long || v instanceof Integer || v instanceof Boolean) return v.toString();
        if (v instanceof List<?> l) {
            List<String> parts = new ArrayList<>();
            for (Object o : l) parts.add(yaml(o));
            return "[" + String.join(", ", parts) + "]";
        }
        String s = v.toString();
        if (PLAIN.matcher(s).matches() && !RESERVED.matcher(s).matches()) return s;
        return RecipeLoader.canon(s);
    }
}
