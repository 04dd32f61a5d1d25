package dev.fabric.template;

import java.beans.FeatureDescriptor;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import jinjava.javax.el.ELContext;
import jinjava.javax.el.ELResolver;

/**
 * Python {@code str} methods for Jinjava. Hugging Face chat templates are Jinja2 run by Python, so they call
 * {@code content.startswith(...)}, {@code .strip('\n')}, {@code .split('</think>')[-1]} and the like on
 * strings, and index them from the end ({@code s[-1]}); Jinjava would otherwise look these up as Java methods (absent, or with other meaning: Java's
 * {@code split} takes a regex and drops trailing empty parts). Placed before Jinjava's own resolvers, this
 * answers those calls with Python's semantics and leaves everything else to Jinjava.
 */
final class PyStringMethods extends ELResolver {

    @Override
    public Object invoke(ELContext context, Object base, Object method, Class<?>[] paramTypes, Object[] params) {
        if (!(base instanceof String s) || method == null) return null;
        Object[] a = params == null ? new Object[0] : params;
        Object r = call(s, method.toString(), a);
        if (r == NOT_HANDLED) return null;
        context.setPropertyResolved(true);
        return r;
    }

    private static final Object NOT_HANDLED = new Object();
    private static final java.util.regex.Pattern INDEX = java.util.regex.Pattern.compile("-?\\d{1,9}");

    static Object call(String s, String name, Object[] a) {
        return switch (name) {
            case "startswith" -> anyOf(a, 0, p -> s.startsWith(p));
            case "endswith" -> anyOf(a, 0, p -> s.endsWith(p));
            case "strip" -> strip(s, chars(a), true, true);
            case "lstrip" -> strip(s, chars(a), true, false);
            case "rstrip" -> strip(s, chars(a), false, true);
            case "split" -> split(s, a.length > 0 ? (String) a[0] : null, a.length > 1 ? toInt(a[1]) : -1);
            case "splitlines" -> s.lines().toList();
            case "upper" -> s.toUpperCase(Locale.ROOT);
            case "lower" -> s.toLowerCase(Locale.ROOT);
            case "capitalize" -> s.isEmpty() ? s
                    : s.substring(0, 1).toUpperCase(Locale.ROOT) + s.substring(1).toLowerCase(Locale.ROOT);
            case "title" -> title(s);
            case "replace" -> replace(s, str(a[0]), str(a[1]), a.length > 2 ? toInt(a[2]) : -1);
            case "find" -> s.indexOf(str(a[0]));
            case "count" -> count(s, str(a[0]));
            case "join" -> join(s, a[0]);
            default -> NOT_HANDLED;
        };
    }

    private interface StringTest {
        boolean test(String p);
    }

    /** startswith/endswith accept one string or a tuple (list) of them. */
    private static boolean anyOf(Object[] a, int i, StringTest t) {
        if (a[i] instanceof Collection<?> c) {
            for (Object o : c) if (t.test(str(o))) return true;
            return false;
        }
        return t.test(str(a[i]));
    }

    private static String chars(Object[] a) {
        return a.length == 0 || a[0] == null ? null : str(a[0]);
    }

    /** Python's strip: with no argument strips whitespace, else any of the given characters. */
    static String strip(String s, String chars, boolean left, boolean right) {
        int b = 0, e = s.length();
        if (left) while (b < e && strippable(s.charAt(b), chars)) b++;
        if (right) while (e > b && strippable(s.charAt(e - 1), chars)) e--;
        return s.substring(b, e);
    }

    private static boolean strippable(char c, String chars) {
        return chars == null ? isSpace(c) : chars.indexOf(c) >= 0;
    }

    /** Python's {@code str.isspace} for one character: Java's whitespace plus the no-break spaces. */
    private static boolean isSpace(char c) {
        return Character.isWhitespace(c) || Character.isSpaceChar(c) || c == '\u0085';
    }

    /** Python's split: literal separator, keeps empty parts; no separator splits on whitespace runs. */
    static List<String> split(String s, String sep, int maxSplit) {
        List<String> out = new ArrayList<>();
        if (sep == null) {
            int i = 0, n = s.length();
            while (true) {
                while (i < n && isSpace(s.charAt(i))) i++;
                if (i >= n) break;
                if (maxSplit >= 0 && out.size() == maxSplit) {
                    out.add(strip(s.substring(i), null, false, true));
                    break;
                }
                int j = i;
                while (j < n && !isSpace(s.charAt(j))) j++;
                out.add(s.substring(i, j));
                i = j;
            }
            return out;
        }
        if (sep.isEmpty()) throw new IllegalArgumentException("empty separator");
        int from = 0;
        while (maxSplit < 0 || out.size() < maxSplit) {
            int k = s.indexOf(sep, from);
            if (k < 0) break;
            out.add(s.substring(from, k));
            from = k + sep.length();
        }
        out.add(s.substring(from));
        return out;
    }

    private static String replace(String s, String old, String rep, int count) {
        if (count < 0) return s.replace(old, rep);
        StringBuilder sb = new StringBuilder();
        int from = 0;
        for (int n = 0; n < count; n++) {
            int k = s.indexOf(old, from);
            if (k < 0) break;
            sb.append(s, from, k).append(rep);
            from = k + old.length();
            if (old.isEmpty()) break;
        }
        return sb.append(s.substring(from)).toString();
    }

    private static int count(String s, String sub) {
        if (sub.isEmpty()) return s.length() + 1;
        int n = 0;
        for (int k = s.indexOf(sub); k >= 0; k = s.indexOf(sub, k + sub.length())) n++;
        return n;
    }

    private static String title(String s) {
        StringBuilder sb = new StringBuilder(s.length());
        boolean prevCased = false;
        for (char c : s.toCharArray()) {
            sb.append(prevCased ? Character.toLowerCase(c) : Character.toUpperCase(c));
            prevCased = Character.isLetter(c);
        }
        return sb.toString();
    }

    private static String join(String sep, Object items) {
        List<String> parts = new ArrayList<>();
        if (items instanceof Iterable<?> it) for (Object o : it) parts.add(str(o));
        else parts.add(str(items));
        return String.join(sep, parts);
    }

    private static String str(Object o) {
        return o == null ? "None" : o.toString();
    }

    private static int toInt(Object o) {
        return ((Number) o).intValue();
    }

    // Other property access is left to Jinjava's resolvers.
    @Override
    public Class<?> getCommonPropertyType(ELContext context, Object base) {
        return null;
    }

    @Override
    public Iterator<FeatureDescriptor> getFeatureDescriptors(ELContext context, Object base) {
        return null;
    }

    @Override
    public Class<?> getType(ELContext context, Object base, Object property) {
        return null;
    }

    /** Python indexing of strings: {@code s[0]}, {@code s[-1]} (Jinjava has no negative string index). */
    @Override
    public Object getValue(ELContext context, Object base, Object property) {
        // Jinjava hands integer subscripts of non-array bases over as their decimal text.
        if (!(base instanceof String s) || property == null || !INDEX.matcher(property.toString()).matches()) return null;
        long n = Long.parseLong(property.toString());
        long i = n < 0 ? s.length() + n : n;
        context.setPropertyResolved(true);
        if (i < 0 || i >= s.length()) return null;
        return String.valueOf(s.charAt((int) i));
    }

    @Override
    public boolean isReadOnly(ELContext context, Object base, Object property) {
        return true;
    }

    @Override
    public void setValue(ELContext context, Object base, Object property, Object value) {}
}
