package dev.fabric.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** decode(encode(x)) == x, offsets against byte positions, and the streaming decoder, on each reference vocabulary. */
class TokenizerRoundTripTest {
    static final List<String> TEXTS = List.of(
            "", " ", "  ", "\n", "\r\n\r\n", "\t\t x", "Hello world", " leading and trailing  ",
            "Ünïcödé café naïve résumé Ångström; combining e\u0301 a\u0308", "Greek αβγ, Cyrillic Пациент здоров.",
            "中文医疗文本：患者血压偏高，建议复查。", "日本語のテキスト。カタカナ ひらがな", "한국어 문장입니다.",
            "Emoji 🩺💊🏥 flags 🇩🇪🇺🇸 ZWJ 👩\u200d⚕️ family 👨\u200d👩\u200d👧 skin 👍🏽",
            "Whitespace runs:     four, \t\ttabs,\u00a0nbsp,\u3000ideographic,\u2028line sep",
            "Numbers 0 42 1234567 3.14159 -2e10 1,000,000 ٣٤٥ ௫ ⅷ ½",
            "Code:\n    def f(x):\n        return x**2  # comment\n\tif (a && b) { c++; }\n",
            "I'm sure they'll say we've done it, but DON'T they'd've? 'quoted' ’curly’",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "Mixed \u0000 control \u0007 chars \u001f and \u007f del, private use \ue000, replacement \ufffd",
            "Math 𝔸𝕓𝒞 ∀x∈ℝ: x²≥0; arrows →⇒; box ─┼─; music 𝄞", "Arabic مرحبا بالعالم, Hebrew שלום, Hindi नमस्ते, Thai สวัสดี");

    static Stream<Arguments> vocabs() {
        return Stream.of(RefVocabs.NAMES).map(Arguments::of);
    }

    /** The texts, plus random strings over a mixed alphabet (seeded). */
    static List<String> texts() {
        List<String> out = new ArrayList<>(TEXTS);
        String alphabet = "aZ 0\n\t\r'.,-<>|_é中日한🩺\u200d\u00a0\u3000ø▁";
        Random r = new Random(42);
        for (int i = 0; i < 60; i++) {
            StringBuilder sb = new StringBuilder();
            int len = r.nextInt(40);
            for (int k = 0; k < len; k++) sb.appendCodePoint(alphabet.codePointAt(alphabet.offsetByCodePoints(0, r.nextInt(alphabet.codePointCount(0, alphabet.length())))));
            out.add(sb.toString());
        }
        return out;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("vocabs")
    void decodeInvertsEncode(String vocab) {
        Tokenizer tok = RefVocabs.tokenizer(vocab);
        for (String text : texts()) {
            // SentencePiece writes a space as U+2581 and reads U+2581 back as a space: that text cannot round-trip.
            String expected = tok.vocabulary().isBpe() ? text : text.replace('▁', ' ');
            assertEquals(expected, tok.decode(tok.encode(text, false, false)), () -> vocab + ": " + text);
            // With BOS/EOS (rendered as nothing) and special-token parsing.
            assertEquals(expected, tok.decode(tok.encode(text, true, true), false), () -> vocab + ": " + text);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("vocabs")
    void controlTokensRoundTripWhenParsed(String vocab) {
        Tokenizer tok = RefVocabs.tokenizer(vocab);
        String eos = tok.tokenText(tok.eosId());
        String text = "user said hi" + eos + "\nassistant: ok" + eos + eos + " end";
        int[] ids = tok.encode(text, false, true);
        assertEquals(3, count(ids, tok.eosId()), vocab + ": " + java.util.Arrays.toString(ids));
        assertEquals(text, tok.decode(ids));
        assertEquals(text.replace(eos, ""), tok.decode(ids, false));
        // Unparsed, the control text is ordinary text.
        assertEquals(0, count(tok.encode(text, false, false), tok.eosId()));
        assertEquals(text, tok.decode(tok.encode(text, false, false)));
    }

    private static int count(int[] ids, int id) {
        int c = 0;
        for (int x : ids) if (x == id) c++;
        return c;
    }

    /**
     * Each token starts at the character that holds its first byte: the bytes of the pieces before it,
     * located in the text's UTF-8 (less the one prefixed space of SentencePiece).
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("vocabs")
    void offsetsPointAtTheFirstByte(String vocab) {
        Tokenizer tok = RefVocabs.tokenizer(vocab);
        boolean prefix = !tok.vocabulary().isBpe() && tok.vocabulary().addSpacePrefix();
        for (String text : texts()) {
            if (text.indexOf('\u2581') >= 0 || text.isEmpty()) continue;
            Encoding enc = tok.encodeWithOffsets(text, false, false);
            assertArrayEquals(tok.encode(text, false, false), enc.ids());
            int[] charOfByte = charOfByte(text);
            int bytes = prefix ? -1 : 0;
            for (int i = 0; i < enc.size(); i++) {
                int expected = charOfByte[Math.max(0, bytes)];
                int at = i;
                assertEquals(expected, enc.offsets()[i], () -> vocab + " token " + at + " of '" + text + "'");
                bytes += tok.pieceBytes(enc.ids()[i], true).length;
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("vocabs")
    void specialTokenOffsets(String vocab) {
        Tokenizer tok = RefVocabs.tokenizer(vocab);
        String eos = tok.tokenText(tok.eosId());
        String text = "ab" + eos + "cd";
        Encoding enc = tok.encodeWithOffsets(text, true, true);
        int k = indexOf(enc.ids(), tok.eosId());
        assertEquals(2, enc.offsets()[k]);
        assertEquals(2 + eos.length(), enc.offsets()[k + 1], "the text after it");
        if (tok.addBosDefault()) assertEquals(0, enc.offsets()[0]);
        for (int i = 1; i < enc.size(); i++) assertTrue(enc.offsets()[i] >= enc.offsets()[i - 1]);
    }

    private static int indexOf(int[] a, int v) {
        for (int i = 0; i < a.length; i++) if (a[i] == v) return i;
        return -1;
    }

    /** For each UTF-8 byte of text (and one past the end), the UTF-16 index of its character. */
    private static int[] charOfByte(String text) {
        byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
        int[] out = new int[utf8.length + 1];
        int b = 0;
        for (int i = 0; i < text.length(); ) {
            int cp = text.codePointAt(i);
            int n = new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8).length;
            for (int k = 0; k < n; k++) out[b++] = i;
            i += Character.charCount(cp);
        }
        out[b] = text.length();
        return out;
    }

    /** Streaming yields only whole characters and, in all, what the pieces spell. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("vocabs")
    void streamingDecoderEmitsWholeCharacters(String vocab) {
        Tokenizer tok = RefVocabs.tokenizer(vocab);
        boolean prefix = !tok.vocabulary().isBpe() && tok.vocabulary().addSpacePrefix();
        for (String text : texts()) {
            if (text.indexOf('\u2581') >= 0 || text.isEmpty()) continue;
            TokenDecoder dec = tok.newDecoder();
            StringBuilder sb = new StringBuilder();
            for (int id : tok.encode(text, false, false)) {
                String chunk = dec.push(id);
                assertFalse(chunk.indexOf('\uFFFD') >= 0 && text.indexOf('\uFFFD') < 0, () -> "partial character in " + text);
                assertFalse(!chunk.isEmpty() && Character.isHighSurrogate(chunk.charAt(chunk.length() - 1)));
                sb.append(chunk);
            }
            assertFalse(dec.hasPending());
            sb.append(dec.finish());
            assertEquals(prefix ? " " + text : text, sb.toString(), vocab);
        }
    }
}
