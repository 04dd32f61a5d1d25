package dev.fabric.tokenizer;

import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * SentencePiece-style BPE over scores, as llama.cpp's SPM tokenizer: spaces become U+2581 (with one
 * prefixed when {@code add_space_prefix}); the text's characters are symbols; while some adjacent pair
 * spells a token, the pair whose token has the highest score (leftmost on ties) merges. A final symbol
 * that is no token (a character outside the vocabulary) is written as its UTF-8 bytes' {@code <0xNN>}
 * tokens.
 *
 * <p>Symbols are ids: a token's id, or {@code -(code point + 1)} for a character that is not a token.
 * Where no token has a U+2581 right after another character (true of Llama's vocabulary), no merge can
 * cross the start of a space run, so the text is cut there into words that are merged (and cached) alone.
 */
final class SpmModel implements Model {
    static final int SPACE = 0x2581;
    private static final int CACHE_LIMIT = 1 << 18;
    private static final int CACHE_MAX_WORD = 64;

    private final TextIndex byText;
    private final int[] bmpSymbol = new int[0x10000];
    private final int[] byteToken = new int[256];
    private final PairMap pairs;
    private final boolean addSpacePrefix;
    private final boolean cutAtSpaces;
    private final ConcurrentHashMap<String, Piece> cache = new ConcurrentHashMap<>();

    SpmModel(Vocabulary v, TextIndex byText) {
        this.byText = byText;
        this.addSpacePrefix = v.addSpacePrefix();
        List<String> tokens = v.tokens();
        for (int cp = 0; cp < 0x10000; cp++) bmpSymbol[cp] = -(cp + 1);
        for (String t : tokens) {
            if (t.length() == 1) bmpSymbol[t.charAt(0)] = byText.get(t);
        }
        for (int b = 0; b < 256; b++) {
            int id = byText.get(String.format("<0x%02X>", b));
            if (id < 0 && b < 0x80) id = byText.get(String.valueOf((char) b));
            byteToken[b] = id >= 0 ? id : v.unkId();
        }
        // Every way of spelling a token as two symbols (token or single character) is a pair to merge.
        pairs = new PairMap(tokens.size() * 4);
        boolean cut = true;
        for (int id = 0; id < tokens.size(); id++) {
            String t = tokens.get(id);
            if (byText.get(t) != id) continue; // a duplicate text: llama.cpp keeps the last id for it
            int priority = Merger.scorePriority(v.scores()[id]);
            for (int k = t.offsetByCodePoints(0, 1); k < t.length(); k = t.offsetByCodePoints(k, 1)) {
                int left = symbolOf(t.substring(0, k));
                int right = symbolOf(t.substring(k));
                if (left != NONE && right != NONE) pairs.putIfAbsent(left, right, priority, id);
                if (t.charAt(k) == SPACE && t.charAt(k - 1) != SPACE) cut = false;
            }
        }
        cutAtSpaces = cut;
    }

    private static final int NONE = Integer.MIN_VALUE;

    /** The symbol id of a string: its token id, else -(cp+1) for a single character, else NONE. */
    private int symbolOf(String s) {
        int id = byText.get(s);
        if (id >= 0) return id;
        return s.codePointCount(0, s.length()) == 1 ? -(s.codePointAt(0) + 1) : NONE;
    }

    private int symbolOf(int cp) {
        if (cp < 0x10000) return bmpSymbol[cp];
        int id = byText.get(new String(Character.toChars(cp)));
        return id >= 0 ? id : -(cp + 1);
    }

    @Override
    public void encode(String text, int from, int to, boolean afterSpecial, IntList ids, IntList offsets) {
        boolean prefix = addSpacePrefix && afterSpecial;
        int n = to - from + (prefix ? 1 : 0);
        int[] cps = new int[n];
        int[] charAt = new int[n + 1];
        int m = Model.codePoints(text, from, to, cps, charAt, prefix ? 1 : 0);
        if (prefix) {
            cps[0] = ' ';
            charAt[0] = from; // the prefixed space belongs to the text's first character
        }
        for (int i = 0; i < m; i++) if (cps[i] == ' ') cps[i] = SPACE;

        int s = 0;
        while (s < m) {
            int e = m;
            if (cutAtSpaces) {
                e = s + 1;
                while (e < m && !(cps[e] == SPACE && cps[e - 1] != SPACE)) e++;
            }
            Piece piece;
            if (e - s <= CACHE_MAX_WORD) {
                String key = new String(cps, s, e - s);
                piece = cache.get(key);
                if (piece == null) {
                    piece = word(cps, s, e);
                    if (cache.size() >= CACHE_LIMIT) cache.clear();
                    cache.put(key, piece);
                }
            } else {
                piece = word(cps, s, e);
            }
            ids.addAll(piece.ids());
            if (offsets != null) for (int st : piece.starts()) offsets.add(charAt[s + st]);
            s = e;
        }
    }

    /** One word: ids, and the index (in code points from the word's start) where each begins. */
    private Piece word(int[] cps, int s, int e) {
        int n = e - s;
        int[] sym = new int[n];
        int[] start = new int[n];
        for (int i = 0; i < n; i++) {
            sym[i] = symbolOf(cps[s + i]);
            start[i] = i;
        }
        int m = Merger.merge(pairs, sym, start, n);
        IntList ids = new IntList(m);
        IntList starts = new IntList(m);
        byte[] buf = new byte[4];
        for (int i = 0; i < m; i++) {
            if (sym[i] >= 0) {
                ids.add(sym[i]);
                starts.add(start[i]);
            } else {
                int nb = Model.utf8(-(sym[i] + 1), buf, 0);
                for (int j = 0; j < nb; j++) {
                    ids.add(byteToken[buf[j] & 0xFF]);
                    starts.add(start[i]);
                }
            }
        }
        return new Piece(ids.toArray(), starts.toArray());
    }
}
