package dev.fabric.template;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/**
 * The Python behaviour chat templates rely on, through the whole rendering path. Expected values are what
 * CPython prints for the same expressions (str methods, slices, json.dumps).
 */
class PythonismsTest {
    private static String eval(String expr, Map<String, Object> vars) {
        Map<String, Object> extra = new LinkedHashMap<>(vars);
        return ChatTemplate.of("expr", "[{{ " + expr + " }}]", Map.of()).render(List.of(), false, extra);
    }

    private static String render(String template, Map<String, Object> vars) {
        return ChatTemplate.of("t", template, Map.of()).render(List.of(), false, vars);
    }

    /** Jinja2 with lstrip_blocks: only whitespace that opens a line before a block tag goes. */
    @Test
    void lstripBlocksLikeJinja2() {
        assertEquals("A: B C", render("A: {% if true %}B {% endif %}C", Map.of()));
        assertEquals("x\nyz", render("x\n   {% if true %}y{% endif %}\nz", Map.of()));
        assertEquals("  1\n  2\n", render("{% for i in [1, 2] %}\n  {{ i }}\n  {% endfor %}", Map.of()));
    }

    private static String eval(String expr) {
        return eval(expr, Map.of("f", false, "n", 1));
    }

    @ParameterizedTest
    @CsvSource(delimiterString = " => ", quoteCharacter = '"', value = {
        "'a</think>'.split('</think>')[-1] => []",
        "'a.b.c'.split('.') | join('/') => [a/b/c]",
        "'a,b,c'.split(',', 1)[1] => [b,c]",
        "'  a  b '.split() | join('|') => [a|b]",
        "'\\n\\nx\\n'.strip('\\n') => [x]",
        "'xxaxx'.lstrip('x') ~ '|' ~ 'xxaxx'.rstrip('x') => [axx|xxa]",
        "'  t  '.strip() ~ '|' => [t|]",
        "'<tool_response>x'.startswith('<tool_response>') => [true]",
        "'abc'.endswith(['z', 'c']) => [true]",
        "'hello world'.title() => [Hello World]",
        "'aaa'.replace('a', 'b', 2) => [bba]",
        "'-'.join(['a', 'b']) => [a-b]",
        "'x' is string => [true]",
        "{'a': 1} is mapping => [true]",
        "[1, 2] is mapping => [false]",
        "'abc'[-1] ~ 'abc'[0] => [ca]",
        "'x' is iterable ~ ([1] is iterable) ~ (3 is iterable) => [truetruefalse]",
        "not f is defined => [false]",
        "not n == 2 => [true]",
        "'a' if not f else 'b' => [a]",
        "not n is divisibleby(3) and not f => [true]",
        "'do not use' ~ (n is not none) => [do not usetrue]",
        "'a' not in ['b'] => [true]",
    })
    void stringMethodsAndTests(String expr, String expected) {
        assertEquals(expected, eval(expr));
    }

    @Test
    void reversedSliceKeepsLoopVariables() {
        String out = render("{% for x in xs[::-1] %}{{ loop.index0 }}{{ x }}{% endfor %}", Map.of("xs", List.of("a", "b", "c")));
        assertEquals("0c1b2a", out);
    }

    @Test
    void keywordArgumentValuesAreWholeExpressions() {
        String out = render("{% set ns = namespace(flag=true, last=xs|length - 1) %}{{ ns.last }}",
                Map.of("xs", List.of("a", "b", "c")));
        assertEquals("2", out);
    }

    @Test
    void macroParameterDefaultsAreLeftAlone() {
        assertEquals("<1d><2z>", render("{% macro f(x, y='d') %}<{{ x }}{{ y }}>{% endmacro %}{{ f(1) }}{{ f(2, y='z') }}", Map.of()));
    }

    @Test
    void tojsonWritesWhatPythonsJsonDumpsWrites() {
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("name", "café \"x\"\n");
        v.put("n", 3);
        v.put("f", 0.5);
        v.put("ok", true);
        v.put("none", null);
        v.put("list", List.of(1, List.of()));
        v.put("empty", Map.of());
        assertEquals("[{\"name\": \"café \\\"x\\\"\\n\", \"n\": 3, \"f\": 0.5, \"ok\": true, \"none\": null,"
                + " \"list\": [1, []], \"empty\": {}}]", eval("v | tojson", Map.of("v", v)));
        assertEquals("[{\n  \"a\": [\n    1,\n    2\n  ]\n}]", eval("v | tojson(indent=2)", Map.of("v", Map.of("a", List.of(1, 2)))));
        assertEquals("1e-05", PyJson.dumps(1e-5, -1));
        assertEquals("\"\\u0001\"", PyJson.dumps("\u0001", -1));
    }

    @Test
    void rewriterFindsTheOperandOfAReversedSlice() {
        assertEquals("{% for m in (a.b[0]|reverse|list) %}", TemplateRewriter.rewrite("{% for m in a.b[0][::-1] %}"));
        assertEquals("{{ (f(x)|reverse|list)[0] }}", TemplateRewriter.rewrite("{{ f(x)[::-1][0] }}"));
        assertEquals("text [::-1] stays", TemplateRewriter.rewrite("text [::-1] stays"));
        assertEquals("{{ f(a, k=(x | length - 1), s=('a,b')) }}", TemplateRewriter.rewrite("{{ f(a, k=x | length - 1, s='a,b') }}"));
        assertEquals("{% if a == b %}{{ f(x == 1) }}", TemplateRewriter.rewrite("{% if a == b %}{{ f(x == 1) }}"));
        assertEquals("{%- if not (tools is defined) -%}", TemplateRewriter.rewrite("{%- if not tools is defined -%}"));
        assertEquals("{{ not ((a)) and not (b[0] == 'not x') or c is not none }}",
                TemplateRewriter.rewrite("{{ not (a) and not b[0] == 'not x' or c is not none }}"));
    }
}
