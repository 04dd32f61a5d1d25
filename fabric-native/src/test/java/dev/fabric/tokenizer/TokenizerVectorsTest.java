package dev.fabric.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fabric.testing.SharedRef;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every case of ../shared/ref/tokenizer/vectors.json: the ids {@code llama-tokenize --ids} printed for the
 * text with that vocabulary (its BOS default; {@code --no-parse-special} where parse_special is false).
 */
class TokenizerVectorsTest {
    static Stream<Arguments> cases() throws IOException {
        JsonNode all = new ObjectMapper().readTree(SharedRef.require("tokenizer/vectors.json").toFile());
        List<Arguments> out = new ArrayList<>();
        int i = 0;
        for (JsonNode c : all) {
            int[] ids = new int[c.get("ids").size()];
            for (int k = 0; k < ids.length; k++) ids[k] = c.get("ids").get(k).asInt();
            String text = c.get("text").asText();
            String label = String.format("%03d %s special=%s %s", i++, c.get("vocab").asText(),
                    c.get("parse_special").asBoolean(), abbreviate(text));
            out.add(Arguments.of(label, c.get("vocab").asText(), c.get("parse_special").asBoolean(), text, ids));
        }
        return out.stream();
    }

    private static String abbreviate(String s) {
        String t = s.replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r");
        return t.length() > 40 ? t.substring(0, 40) + "..." : t;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void matchesLlamaTokenize(String label, String vocab, boolean parseSpecial, String text, int[] expected) {
        Tokenizer tok = RefVocabs.tokenizer(vocab);
        int[] got = tok.encode(text, true, parseSpecial);
        assertArrayEquals(expected, got, () -> label + "\n expected " + Arrays.toString(expected) + "\n got      "
                + Arrays.toString(got));
        // The offsets variant gives the same ids.
        Encoding enc = tok.encodeWithOffsets(text, true, parseSpecial);
        assertArrayEquals(expected, enc.ids());
        assertEquals(expected.length, enc.offsets().length);
    }
}
