package dev.fabric.template;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Source rewrites for Jinja2 syntax that Jinjava's parser reads differently or not at all. Each rewrite keeps
 * the template's meaning and touches only the code inside {@code {{ }}} and {@code {% %}}:
 * <ul>
 *   <li>Python's reversed slice {@code x[::-1]} (Qwen3 walks its messages backwards with it) becomes
 *       {@code (x|reverse|list)}. The operand is found by scanning back over a dotted name with any
 *       bracketed or parenthesised parts ({@code messages}, {@code a.b[0]}, {@code f(x).y}).</li>
 *   <li>A keyword argument's value is parenthesised: {@code namespace(i=messages|length - 1)} becomes
 *       {@code namespace(i=(messages|length - 1))}, because Jinjava ends the value at the filter and would
 *       subtract from the argument itself.</li>
 *   <li>{@code not} gets Jinja2's precedence, below comparisons and tests: {@code not x is defined} becomes
 *       {@code not (x is defined)} and {@code not a == b} becomes {@code not (a == b)}; Jinjava binds
 *       {@code not} to the next operand alone, so Llama 3.1's {@code if not tools is defined} would be true
 *       with tools given.</li>
 *   <li>Jinja2's {@code lstrip_blocks}, which Hugging Face turns on, is applied here rather than by Jinjava:
 *       spaces and tabs before a {@code {% %}} or {@code {# #}} tag are removed only where nothing else
 *       precedes the tag on its line. Jinjava's own option also strips them after text on the same line
 *       ({@code "A: {% if x %}"} would lose its space).</li>
 * </ul>
 * Limit: a string literal containing {@code %}}, {@code }}} or {@code #}} ends the tag early for these
 * rewrites (no chat template we know writes one).
 */
final class TemplateRewriter {
    private TemplateRewriter() {}

    private static final Pattern REVERSED = Pattern.compile("\\[\\s*::\\s*-1\\s*\\]");
    /** Macro and call-block tags declare parameter defaults ({@code y='d'}), which must stay as written. */
    private static final Pattern DEFINES_PARAMETERS = Pattern.compile("\\{%[-+]?\\s*(macro|call)\\b");
    private static final Pattern CODE = Pattern.compile("\\{#.*?#}|\\{\\{.*?}}|\\{%.*?%}", Pattern.DOTALL);

    static String rewrite(String source) {
        StringBuilder out = new StringBuilder();
        Matcher m = CODE.matcher(source);
        int last = 0;
        while (m.find()) {
            String text = source.substring(last, m.start());
            String tag = m.group();
            if (!tag.startsWith("{{")) text = lstripBeforeTag(text, last == 0);
            out.append(text);
            out.append(tag.startsWith("{#") ? tag
                    : DEFINES_PARAMETERS.matcher(tag).lookingAt() ? reverseSlices(tag)
                    : parenthesiseKeywordValues(reverseSlices(groupNotOperands(tag))));
            last = m.end();
        }
        return out.append(source.substring(last)).toString();
    }

    /** Jinja2's lstrip_blocks for the text before a block or comment tag. */
    private static String lstripBeforeTag(String text, boolean atTemplateStart) {
        int lineStart = text.lastIndexOf('\n') + 1;
        if (lineStart == 0 && !atTemplateStart) return text;
        for (int i = lineStart; i < text.length(); i++) {
            if (text.charAt(i) != ' ' && text.charAt(i) != '\t') return text;
        }
        return text.substring(0, lineStart);
    }

    static String reverseSlices(String code) {
        Matcher m = REVERSED.matcher(code);
        List<int[]> hits = new ArrayList<>();
        while (m.find()) hits.add(new int[] {m.start(), m.end()});
        StringBuilder out = new StringBuilder(code);
        // Right to left, so that earlier offsets stay valid while editing.
        for (int h = hits.size() - 1; h >= 0; h--) {
            int at = hits.get(h)[0];
            int start = operandStart(code, at);
            if (start < 0) continue;
            out.replace(start, hits.get(h)[1], "(" + code.substring(start, at) + "|reverse|list)");
        }
        return out.toString();
    }

    /** Start of the primary expression ending at {@code end}, or -1 if there is none. */
    private static int operandStart(String s, int end) {
        int i = end;
        while (i > 0) {
            char c = s.charAt(i - 1);
            if (c == ')' || c == ']') {
                int depth = 0, j = i - 1;
                for (; j >= 0; j--) {
                    char d = s.charAt(j);
                    if (d == ')' || d == ']') depth++;
                    else if (d == '(' || d == '[') depth--;
                    if (depth == 0) break;
                }
                if (j < 0) return -1;
                i = j;
            } else if (Character.isLetterOrDigit(c) || c == '_' || c == '.') {
                i--;
            } else {
                break;
            }
        }
        return i == end ? -1 : i;
    }

    static String parenthesiseKeywordValues(String code) {
        StringBuilder out = new StringBuilder();
        Deque<Character> open = new ArrayDeque<>();
        int n = code.length();
        for (int i = 0; i < n; i++) {
            char c = code.charAt(i);
            if (c == '\'' || c == '"') {
                int j = stringEnd(code, i);
                out.append(code, i, j);
                i = j - 1;
                continue;
            }
            if (c == '(' || c == '[' || c == '{') open.push(c);
            else if ((c == ')' || c == ']' || c == '}') && !open.isEmpty()) open.pop();
            out.append(c);
            boolean argStart = (c == '(' || c == ',') && !open.isEmpty() && open.peek() == '(';
            if (!argStart) continue;
            // After "(" or "," inside a call: is this "name =" (not "==")?
            int k = i + 1;
            while (k < n && Character.isWhitespace(code.charAt(k))) k++;
            int nameStart = k;
            while (k < n && (Character.isLetterOrDigit(code.charAt(k)) || code.charAt(k) == '_')) k++;
            if (k == nameStart) continue;
            int eq = k;
            while (eq < n && Character.isWhitespace(code.charAt(eq))) eq++;
            if (eq >= n || code.charAt(eq) != '=' || (eq + 1 < n && code.charAt(eq + 1) == '=')) continue;
            int valueEnd = argumentEnd(code, eq + 1);
            out.append(code, i + 1, eq + 1).append('(').append(code, eq + 1, valueEnd).append(')');
            i = valueEnd - 1;
        }
        return out.toString();
    }

    /** Index of the "," or ")" that ends the argument starting at {@code from}, at bracket depth 0. */
    private static int argumentEnd(String code, int from) {
        int depth = 0;
        for (int i = from; i < code.length(); i++) {
            char c = code.charAt(i);
            if (c == '\'' || c == '"') {
                i = stringEnd(code, i) - 1;
            } else if (c == '(' || c == '[' || c == '{') {
                depth++;
            } else if (c == ')' || c == ']' || c == '}') {
                if (depth == 0) return i;
                depth--;
            } else if (c == ',' && depth == 0) {
                return i;
            }
        }
        return code.length();
    }

    /** Wraps the operand of each boolean {@code not} (not {@code is not}, {@code not in}) in parentheses. */
    static String groupNotOperands(String tag) {
        int open = 2 + (tag.length() > 2 && (tag.charAt(2) == '-' || tag.charAt(2) == '+') ? 1 : 0);
        int close = tag.length() - 2;
        if (close > open && (tag.charAt(close - 1) == '-' || tag.charAt(close - 1) == '+')) close--;
        if (close <= open) return tag;
        StringBuilder code = new StringBuilder(tag.substring(open, close));
        List<Integer> operandStarts = new ArrayList<>();
        String prevWord = "";
        for (int i = 0; i < code.length(); ) {
            char c = code.charAt(i);
            if (c == '\'' || c == '"') {
                i = stringEnd(code.toString(), i);
                prevWord = "";
            } else if (Character.isLetter(c) || c == '_') {
                int j = i;
                while (j < code.length() && (Character.isLetterOrDigit(code.charAt(j)) || code.charAt(j) == '_')) j++;
                String word = code.substring(i, j);
                if (word.equals("not") && !prevWord.equals("is") && !nextWord(code, j).equals("in")) {
                    int k = j;
                    while (k < code.length() && Character.isWhitespace(code.charAt(k))) k++;
                    operandStarts.add(k);
                }
                prevWord = word;
                i = j;
            } else {
                if (!Character.isWhitespace(c)) prevWord = "";
                i++;
            }
        }
        // Right to left, so that an inner "not" is grouped before the operand of an outer one is measured.
        for (int n = operandStarts.size() - 1; n >= 0; n--) {
            int start = operandStarts.get(n), end = notOperandEnd(code, start);
            if (end <= start) continue;
            code.insert(end, ')').insert(start, '(');
        }
        return tag.substring(0, open) + code + tag.substring(close);
    }

    private static String nextWord(CharSequence s, int from) {
        int i = from;
        while (i < s.length() && Character.isWhitespace(s.charAt(i))) i++;
        int j = i;
        while (j < s.length() && (Character.isLetterOrDigit(s.charAt(j)) || s.charAt(j) == '_')) j++;
        return s.subSequence(i, j).toString();
    }

    /** End of a {@code not} operand: the next {@code and}, {@code or}, {@code if}, {@code else}, comma or closing bracket at depth 0. */
    private static int notOperandEnd(CharSequence code, int from) {
        int depth = 0, i = from, end = from;
        while (i < code.length()) {
            char c = code.charAt(i);
            if (c == '\'' || c == '"') {
                i = stringEnd(code.toString(), i);
                end = i;
                continue;
            }
            if (c == '(' || c == '[' || c == '{') {
                depth++;
            } else if (c == ')' || c == ']' || c == '}') {
                if (depth == 0) break;
                depth--;
            } else if (c == ',' && depth == 0) {
                break;
            } else if (depth == 0 && (Character.isLetter(c) || c == '_')
                    && (i == 0 || !(Character.isLetterOrDigit(code.charAt(i - 1)) || code.charAt(i - 1) == '_'))) {
                String w = nextWord(code, i);
                if (w.equals("and") || w.equals("or") || w.equals("if") || w.equals("else")) break;
                i += w.length();
                end = i;
                continue;
            }
            i++;
            if (!Character.isWhitespace(c)) end = i;
        }
        return end;
    }

    /** Index just past the string literal that starts at {@code i}. */
    private static int stringEnd(String s, int i) {
        char q = s.charAt(i);
        int j = i + 1;
        while (j < s.length() && s.charAt(j) != q) j += s.charAt(j) == '\\' ? 2 : 1;
        return Math.min(j + 1, s.length());
    }
}
