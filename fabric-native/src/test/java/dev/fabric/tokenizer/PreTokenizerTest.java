package dev.fabric.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The hand-written pre-tokenizers against the regexes they stand for, run by java.util.regex on random
 * strings over an alphabet that hits every branch (contractions, letters of several scripts, digits,
 * punctuation, CR/LF, ASCII and non-ASCII whitespace, marks, emoji, supplementary letters).
 */
class PreTokenizerTest {
    /** \s as llama.cpp classifies whitespace (Unicode White_Space). */
    private static final String WS = "\\t\\n\\x0B\\f\\r \\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}";
    private static final String S = "[" + WS + "]", NOT_S = "[^" + WS + "]";

    static final Pattern GPT2 = Pattern.compile(("'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^" + WS
            + "\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+").replace("\\s", S).replace("\\S", NOT_S));

    static Pattern llama3(String digits) {
        return Pattern.compile(("(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}"
                + digits + "| ?[^" + WS + "\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+")
                .replace("\\s", S).replace("\\S", NOT_S));
    }

    /** DeepSeek-LLM's six regexes as its tokenizer.json has them (std::regex \s: ASCII only; see below). */
    static final List<Pattern> DEEPSEEK = List.of(
            Pattern.compile("[\\r\\n]"),
            Pattern.compile("\\s?[A-Za-z\u00B5\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u01BA\u01BC-\u01BF\u01C4-\u0293\u0295-\u02AF\u0370-\u0373\u0376\u0377\u037B-\u037D\u037F\u0386\u0388-\u038A\u038C\u038E-\u03A1\u03A3-\u03F5\u03F7-\u0481\u048A-\u052F\u0531-\u0556\u10A0-\u10C5\u13A0-\u13F5\u13F8-\u13FD\u1C90-\u1CBA\u1CBD-\u1CBF\u1D00-\u1D2B\u1D6B-\u1D77\u1D79-\u1D9A\u1E00-\u1F15\u1F18-\u1F1D\u1F20-\u1F45\u1F48-\u1F4D\u1F50-\u1F57\u1F59\u1F5B\u1F5D\u1F5F-\u1F7D\u1F80-\u1FB4\u1FB6-\u1FBC\u1FBE\u1FC2-\u1FC4\u1FC6-\u1FCC\u1FD0-\u1FD3\u1FD6-\u1FDB\u1FE0-\u1FEC\u1FF2-\u1FF4\u1FF6-\u1FFC\u2102\u2107\u210A-\u2113\u2115\u2119-\u211D\u2124\u2126\u2128\u212A-\u212D\u212F-\u2134\u2139\u213C-\u213F\u2145-\u2149\u214E\u2183\u2184\u2C00-\u2C7B\u2C7E-\u2CE4\u2CEB-\u2CEE\u2CF2\u2CF3\uA640-\uA66D\uA680-\uA69B\uA722-\uA76F\uA771-\uA787\uA78B-\uA78E\uAB70-\uABBF\uFB00-\uFB06\uFB13-\uFB17\uFF21-\uFF3A\uFF41-\uFF5A\uD801\uDC00-\uD801\uDC4F\uD801\uDCB0-\uD801\uDCD3\uD801\uDCD8-\uD801\uDCFB\uD803\uDC80-\uD803\uDCB2\uD803\uDCC0-\uD803\uDCF2\uD806\uDCA0-\uD806\uDCDF\uD83A\uDD00-\uD83A\uDD43]+"),
            Pattern.compile("\\s?[!-/:-~\uFF01-\uFF0F\uFF1A-\uFF5E\u2018-\u201F\u3000-\u3002]+"),
            Pattern.compile("\\s+$"),
            Pattern.compile("[\u4E00-\u9FA5\u0800-\u4E00\uAC00-\uD7FF]+"),
            Pattern.compile("\\p{N}+"));

    static final String ALPHABET = "'sStTrReEvVmMlLdD aZé中カ한αЖ09٣⅛.,!?-<>\"\n\r\t\u00A0\u3000\u2028\u0301\u200d🩺𐐀𝔸！‘。ø";

    static Stream<Arguments> splitters() {
        return Stream.of(
                Arguments.of("gpt-2", new Gpt2Split()),
                Arguments.of("llama-bpe", new Llama3Split(3)),
                Arguments.of("qwen2", new Llama3Split(1)),
                Arguments.of("deepseek-llm", new DeepseekLlmSplit()),
                Arguments.of("default", PreTokenizer.forName("default")),
                Arguments.of("smollm", PreTokenizer.forName("smollm")));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("splitters")
    void matchesTheRegex(String name, PreTokenizer splitter) {
        int[] alphabet = ALPHABET.codePoints().toArray();
        Random r = new Random(7);
        for (int i = 0; i < 3000; i++) {
            StringBuilder sb = new StringBuilder();
            int len = r.nextInt(24);
            for (int k = 0; k < len; k++) sb.appendCodePoint(alphabet[r.nextInt(alphabet.length)]);
            String text = sb.toString();
            List<String> expected = switch (name) {
                case "gpt-2" -> regexSplit(GPT2, List.of(text));
                case "llama-bpe" -> regexSplit(llama3("{1,3}"), List.of(text));
                case "qwen2" -> regexSplit(llama3(""), List.of(text));
                case "smollm" -> regexSplit(GPT2, regexSplit(Pattern.compile("\\p{N}"), List.of(text)));
                case "default" -> regexSplit(Pattern.compile("[0-9][0-9][0-9]"), regexSplit(Pattern.compile("\\p{N}+"),
                        regexSplit(GPT2, regexSplit(Pattern.compile("[\\p{P}$+<=>^~|]+"), List.of(text)))));
                default -> deepseek(text);
            };
            assertEquals(expected, split(splitter, text), () -> name + ": '" + text + "'");
        }
    }

    /** Each regex splits every piece into its matches and the gaps between them (HF Split, Isolated). */
    static List<String> regexSplit(Pattern p, List<String> pieces) {
        List<String> out = new ArrayList<>();
        for (String piece : pieces) {
            Matcher m = p.matcher(piece);
            int last = 0;
            while (m.find()) {
                if (m.start() > last) out.add(piece.substring(last, m.start()));
                out.add(m.group());
                last = m.end();
            }
            if (last < piece.length()) out.add(piece.substring(last));
        }
        return out;
    }

    /**
     * llama.cpp runs these (category-free) regexes with std::wregex, whose \s is ASCII only; it first turns
     * every non-ASCII whitespace character into U+000B, so they match \s and nothing else. Same here.
     */
    static List<String> deepseek(String text) {
        StringBuilder mapped = new StringBuilder();
        text.codePoints().forEach(c -> mapped.appendCodePoint(c > 0x7F && UnicodeClass.isWhiteSpaceProperty(c) ? 0x0B : c));
        List<String> pieces = List.of(mapped.toString());
        for (Pattern p : DEEPSEEK) pieces = regexSplit(Pattern.compile(p.pattern().replace("\\s", "[\\t\\n\\x0B\\f\\r ]")), pieces);
        // Back to the original characters, piece by piece (the mapping keeps lengths).
        List<String> out = new ArrayList<>();
        int at = 0;
        for (String piece : pieces) {
            out.add(text.substring(at, at + piece.length()));
            at += piece.length();
        }
        return out;
    }

    static List<String> split(PreTokenizer splitter, String text) {
        int[] cps = text.codePoints().toArray();
        IntList ends = new IntList();
        splitter.split(cps, 0, cps.length, ends);
        List<String> out = new ArrayList<>();
        int s = 0;
        for (int i = 0; i < ends.size(); i++) {
            out.add(new String(cps, s, ends.get(i) - s));
            s = ends.get(i);
        }
        return out;
    }
}
