package dev.fabric.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Special-token partitioning against a literal re-enactment of llama.cpp's fragment splitting. */
class SpecialTokensTest {
    static final List<String> TEXTS = List.of("<a>", "<ab>", "ab>", "b>x", "<", "xx", "a", "é<", "<a", "ab");
    static final TokenType[] TYPES = {TokenType.CONTROL, TokenType.USER_DEFINED, TokenType.CONTROL,
        TokenType.USER_DEFINED, TokenType.NORMAL, TokenType.UNKNOWN, TokenType.NORMAL, TokenType.USER_DEFINED,
        TokenType.CONTROL, TokenType.CONTROL};

    @Test
    void matchesFragmentSplitting() {
        SpecialTokens st = new SpecialTokens(TEXTS, TYPES);
        int[] alphabet = "<ab>xé".codePoints().toArray();
        Random r = new Random(11);
        for (int i = 0; i < 3000; i++) {
            StringBuilder sb = new StringBuilder();
            int len = r.nextInt(20);
            for (int k = 0; k < len; k++) sb.appendCodePoint(alphabet[r.nextInt(alphabet.length)]);
            String text = sb.toString();
            for (boolean parse : new boolean[] {false, true}) {
                IntList out = new IntList();
                st.partition(text, parse, out);
                List<String> got = new ArrayList<>();
                for (int k = 0; k < out.size(); k += 3) got.add(show(text, out.get(k), out.get(k + 1), out.get(k + 2)));
                assertEquals(reference(text, parse), got, () -> "'" + text + "' parse=" + parse);
            }
        }
    }

    /**
     * llama.cpp's procedure: special tokens longest (UTF-8) first; for each, every raw fragment is searched
     * left to right and split around each occurrence. Control and unknown tokens only when parsing specials.
     */
    static List<String> reference(String text, boolean parse) {
        List<Integer> order = new ArrayList<>();
        for (int id = 0; id < TEXTS.size(); id++) {
            TokenType t = TYPES[id];
            if (t == TokenType.USER_DEFINED || (parse && (t == TokenType.CONTROL || t == TokenType.UNKNOWN))) order.add(id);
        }
        order.sort(Comparator.comparingInt((Integer id) -> -TEXTS.get(id).getBytes(StandardCharsets.UTF_8).length)
                .thenComparingInt(id -> id));
        // Fragments: {start, end, id or -1}
        List<int[]> frags = new ArrayList<>();
        if (!text.isEmpty()) frags.add(new int[] {0, text.length(), -1});
        for (int id : order) {
            String s = TEXTS.get(id);
            List<int[]> next = new ArrayList<>();
            for (int[] f : frags) {
                if (f[2] >= 0) {
                    next.add(f);
                    continue;
                }
                int pos = f[0];
                while (true) {
                    int hit = text.indexOf(s, pos);
                    if (hit < 0 || hit + s.length() > f[1]) break;
                    if (hit > pos) next.add(new int[] {pos, hit, -1});
                    next.add(new int[] {hit, hit + s.length(), id});
                    pos = hit + s.length();
                }
                if (pos < f[1]) next.add(new int[] {pos, f[1], -1});
            }
            frags = next;
        }
        List<String> out = new ArrayList<>();
        for (int[] f : frags) out.add(show(text, f[0], f[1], f[2]));
        return out;
    }

    static String show(String text, int start, int end, int id) {
        return (id >= 0 ? "#" + id + ":" : "") + text.substring(start, end);
    }
}
