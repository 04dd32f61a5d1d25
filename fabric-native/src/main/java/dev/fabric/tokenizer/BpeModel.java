package dev.fabric.tokenizer;

import dev.fabric.FabricException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Byte-level BPE (GPT-2 style), as llama.cpp's BPE tokenizer: the pre-tokenizer cuts the text into
 * words; each word's UTF-8 bytes become symbols (spelt with {@link ByteLevel}); the lowest-ranked merge
 * among adjacent symbols is applied until none applies. Symbols are ids: vocabulary ids, plus ids above
 * the vocabulary for merge parts the vocabulary lacks (so any merge list works).
 */
final class BpeModel implements Model {
    private static final int CACHE_LIMIT = 1 << 18;
    private static final int CACHE_MAX_WORD = 64;

    private final List<String> tokens;
    private final TextIndex byText;
    /** Spellings of the symbols outside the vocabulary, by id - vocabulary size. */
    private final List<String> extra = new ArrayList<>();
    private final Map<String, Integer> extraIds = new HashMap<>();
    private final int[] byteSymbol = new int[256];
    private final PairMap merges;
    private final PreTokenizer pre;
    /** Llama 3: a word that is itself a token is taken whole, whatever the merges would do. */
    private final boolean ignoreMerges;
    private final ConcurrentHashMap<String, Piece> cache = new ConcurrentHashMap<>();

    BpeModel(Vocabulary v, TextIndex byText) {
        this.tokens = v.tokens();
        this.byText = byText;
        this.pre = PreTokenizer.forName(v.pre());
        this.ignoreMerges = PreTokenizer.isLlama3(v.pre());
        for (int b = 0; b < 256; b++) byteSymbol[b] = intern(String.valueOf(ByteLevel.charOf(b)));
        List<String> lines = v.merges();
        merges = new PairMap(lines.size());
        for (int rank = 0; rank < lines.size(); rank++) {
            String line = lines.get(rank);
            int sp = line.indexOf(' ', 1);
            if (sp < 0) throw new FabricException("tokenizer.ggml.merges[" + rank + "] = '" + line
                    + "' is not two symbols separated by a space");
            int left = byText.get(line, 0, sp), right = byText.get(line, sp + 1, line.length());
            int both = byText.joined(line, 0, sp, sp + 1, line.length());
            if (left < 0) left = intern(line.substring(0, sp));
            if (right < 0) right = intern(line.substring(sp + 1));
            if (both < 0) both = intern(line.substring(0, sp) + line.substring(sp + 1));
            merges.putIfAbsent(left, right, rank, both);
        }
    }

    private int intern(String s) {
        int id = byText.get(s);
        if (id >= 0) return id;
        Map<String, Integer> m = extraIds;
        Integer e = m.get(s);
        if (e != null) return e;
        int nid = tokens.size() + extra.size();
        extra.add(s);
        m.put(s, nid);
        return nid;
    }

    @Override
    public void encode(String text, int from, int to, boolean afterSpecial, IntList ids, IntList offsets) {
        int n = to - from;
        int[] cps = new int[n];
        int[] charAt = new int[n + 1];
        int m = Model.codePoints(text, from, to, cps, charAt, 0);
        IntList ends = new IntList(Math.max(16, m / 4));
        pre.split(cps, 0, m, ends);
        int s = 0;
        for (int w = 0; w < ends.size(); w++) {
            int e = ends.get(w);
            int c0 = charAt[s], c1 = charAt[e];
            Piece piece;
            if (c1 - c0 <= CACHE_MAX_WORD) {
                String key = text.substring(c0, c1);
                piece = cache.get(key);
                if (piece == null) {
                    piece = word(cps, charAt, s, e);
                    if (cache.size() >= CACHE_LIMIT) cache.clear();
                    cache.put(key, piece);
                }
            } else {
                piece = word(cps, charAt, s, e);
            }
            ids.addAll(piece.ids());
            if (offsets != null) for (int st : piece.starts()) offsets.add(c0 + st);
            s = e;
        }
    }

    /** One word: ids and the UTF-16 offset (from the word's start) of the character holding each one's first byte. */
    private Piece word(int[] cps, int[] charAt, int s, int e) {
        byte[] bytes = new byte[4 * (e - s)];
        int[] charOfByte = new int[bytes.length];
        int nb = 0;
        for (int k = s; k < e; k++) {
            int before = nb;
            nb = Model.utf8(cps[k], bytes, nb);
            for (int j = before; j < nb; j++) charOfByte[j] = charAt[k] - charAt[s];
        }
        if (ignoreMerges) {
            int whole = byText.get(ByteLevel.encode(bytes, 0, nb));
            if (whole >= 0) return new Piece(new int[] {whole}, new int[] {0});
        }
        int[] sym = new int[nb];
        int[] start = new int[nb];
        for (int i = 0; i < nb; i++) {
            sym[i] = byteSymbol[bytes[i] & 0xFF];
            start[i] = i;
        }
        int m = Merger.merge(merges, sym, start, nb);
        IntList ids = new IntList(m);
        IntList starts = new IntList(m);
        for (int i = 0; i < m; i++) {
            int id = sym[i];
            if (id < tokens.size()) {
                ids.add(id);
                starts.add(charOfByte[start[i]]);
            } else {
                // A symbol outside the vocabulary: llama.cpp looks up each byte of its spelling alone,
                // which finds only ASCII characters, and drops the rest.
                String spelt = extra.get(id - tokens.size());
                for (int j = 0; j < spelt.length(); j++) {
                    char c = spelt.charAt(j);
                    int t = c < 0x80 ? byText.get(String.valueOf(c)) : -1;
                    if (t >= 0) {
                        ids.add(t);
                        starts.add(charOfByte[Math.min(start[i] + j, nb - 1)]);
                    }
                }
            }
        }
        return new Piece(ids.toArray(), starts.toArray());
    }
}
