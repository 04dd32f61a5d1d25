package dev.fabric.recipe;

import java.util.List;

/**
 * One recipe field: its dotted key, its kind, its default (null: unset), one line of documentation, and its
 * bounds. {@link RecipeSchema} lists them all; the loader, {@code --set}, {@code --print-recipe} and the hash
 * read them from there, so a field is declared once.
 *
 * @param key      dotted key as written in YAML sections ({@code lora.rank})
 * @param kind     the value's kind
 * @param dflt     the default value in its Java form (Long, Double, Boolean, String, List of String), or null
 * @param doc      one comment line for {@code --print-recipe}
 * @param min      lower bound for numbers (inclusive unless {@code minExclusive})
 * @param max      upper bound for numbers (inclusive)
 * @param choices  allowed values for ENUM and ENUM_LIST
 * @param hashed   whether the field counts in the recipe hash (what is trained, not where or how fast)
 */
public record Field(String key, Kind kind, Object dflt, String doc, double min, boolean minExclusive, double max,
        List<String> choices, boolean hashed) {

    /** Value kinds. PATHS is one path or a list of paths; SIZE a byte count written like {@code 12GiB}. */
    public enum Kind { INT, NUMBER, BOOL, STRING, ENUM, PATH, PATHS, SIZE, ENUM_LIST }

    public Field {
        choices = choices == null ? List.of() : List.copyOf(choices);
    }

    static Field of(String key, Kind kind, Object dflt, String doc) {
        return new Field(key, kind, dflt, doc, Double.NEGATIVE_INFINITY, false, Double.POSITIVE_INFINITY, null, true);
    }

    Field range(double lo, double hi) {
        return new Field(key, kind, dflt, doc, lo, false, hi, choices, hashed);
    }

    Field above(double lo, double hi) {
        return new Field(key, kind, dflt, doc, lo, true, hi, choices, hashed);
    }

    Field choices(String... c) {
        return new Field(key, kind, dflt, doc, min, minExclusive, max, List.of(c), hashed);
    }

    Field notHashed() {
        return new Field(key, kind, dflt, doc, min, minExclusive, max, choices, false);
    }

    /** The last part of the key ({@code rank} for {@code lora.rank}). */
    public String leaf() {
        return key.substring(key.lastIndexOf('.') + 1);
    }

    /** What the field expects, for error messages. */
    String expected() {
        return switch (kind) {
            case INT -> "a whole number" + bounds();
            case NUMBER -> "a number" + bounds();
            case BOOL -> "true or false";
            case STRING -> "a string";
            case ENUM -> "one of " + String.join(", ", choices);
            case PATH -> "a file path";
            case PATHS -> "a file path or a list of file paths";
            case SIZE -> "a size such as 12GiB, 800MB or a number of bytes";
            case ENUM_LIST -> "a list of " + String.join(", ", choices);
        };
    }

    private String bounds() {
        boolean lo = min != Double.NEGATIVE_INFINITY, hi = max != Double.POSITIVE_INFINITY;
        if (!lo && !hi) return "";
        String l = (minExclusive ? "> " : ">= ") + num(min), h = "<= " + num(max);
        return lo && hi ? " " + l + " and " + h : lo ? " " + l : " " + h;
    }

    static String num(double d) {
        return d == Math.rint(d) && Math.abs(d) < 1e16 ? Long.toString((long) d) : Double.toString(d);
    }
}
