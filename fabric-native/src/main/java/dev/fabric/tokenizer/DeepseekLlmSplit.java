package dev.fabric.tokenizer;

/**
 * DeepSeek-LLM's pre-tokenizer: a sequence of six regexes, each splitting every piece left by the one
 * before into its matches and the gaps between them (HF's {@code Split} with behaviour {@code Isolated}):
 * <ol>
 *   <li>{@code [\r\n]}</li>
 *   <li>{@code \s?[cased letters]+} (Latin, Greek, Cyrillic, ... upper/lower/title case, below)</li>
 *   <li>{@code \s?[!-/:-~！-／：-～‘-‟　-。]+} (ASCII and full-width punctuation)</li>
 *   <li>{@code \s+$}</li>
 *   <li>{@code [一-龥ࠀ-一가-퟿]+} (U+4E00..U+9FA5, U+0800..U+4E00, U+AC00..U+D7FF)</li>
 *   <li>{@code \p{N}+}</li>
 * </ol>
 * Whitespace outside ASCII counts only as {@code \s}, never as a member of the explicit classes (llama.cpp
 * substitutes it by U+000B before matching, which is what makes e.g. U+3000 fall out of classes 3 and 5).
 */
final class DeepseekLlmSplit implements PreTokenizer {
    /** Inclusive code point ranges of regex 2's letter class, as the tokenizer.json spells them. */
    private static final int[] LETTERS = {
        0x41, 0x5A, 0x61, 0x7A, 0xB5, 0xB5, 0xC0, 0xD6, 0xD8, 0xF6, 0xF8, 0x1BA, 0x1BC, 0x1BF, 0x1C4, 0x293,
        0x295, 0x2AF, 0x370, 0x373, 0x376, 0x377, 0x37B, 0x37D, 0x37F, 0x37F, 0x386, 0x386, 0x388, 0x38A,
        0x38C, 0x38C, 0x38E, 0x3A1, 0x3A3, 0x3F5, 0x3F7, 0x481, 0x48A, 0x52F, 0x531, 0x556, 0x10A0, 0x10C5,
        0x13A0, 0x13F5, 0x13F8, 0x13FD, 0x1C90, 0x1CBA, 0x1CBD, 0x1CBF, 0x1D00, 0x1D2B, 0x1D6B, 0x1D77,
        0x1D79, 0x1D9A, 0x1E00, 0x1F15, 0x1F18, 0x1F1D, 0x1F20, 0x1F45, 0x1F48, 0x1F4D, 0x1F50, 0x1F57,
        0x1F59, 0x1F59, 0x1F5B, 0x1F5B, 0x1F5D, 0x1F5D, 0x1F5F, 0x1F7D, 0x1F80, 0x1FB4, 0x1FB6, 0x1FBC,
        0x1FBE, 0x1FBE, 0x1FC2, 0x1FC4, 0x1FC6, 0x1FCC, 0x1FD0, 0x1FD3, 0x1FD6, 0x1FDB, 0x1FE0, 0x1FEC,
        0x1FF2, 0x1FF4, 0x1FF6, 0x1FFC, 0x2102, 0x2102, 0x2107, 0x2107, 0x210A, 0x2113, 0x2115, 0x2115,
        0x2119, 0x211D, 0x2124, 0x2124, 0x2126, 0x2126, 0x2128, 0x2128, 0x212A, 0x212D, 0x212F, 0x2134,
        0x2139, 0x2139, 0x213C, 0x213F, 0x2145, 0x2149, 0x214E, 0x214E, 0x2183, 0x2184, 0x2C00, 0x2C7B,
        0x2C7E, 0x2CE4, 0x2CEB, 0x2CEE, 0x2CF2, 0x2CF3, 0xA640, 0xA66D, 0xA680, 0xA69B, 0xA722, 0xA76F,
        0xA771, 0xA787, 0xA78B, 0xA78E, 0xAB70, 0xABBF, 0xFB00, 0xFB06, 0xFB13, 0xFB17, 0xFF21, 0xFF3A,
        0xFF41, 0xFF5A, 0x10400, 0x1044F, 0x104B0, 0x104D3, 0x104D8, 0x104FB, 0x10C80, 0x10CB2, 0x10CC0,
        0x10CF2, 0x118A0, 0x118DF, 0x1E900, 0x1E943,
    };
    private static final int[] PUNCT = {0x21, 0x2F, 0x3A, 0x7E, 0x2018, 0x201F, 0x3000, 0x3002, 0xFF01, 0xFF0F, 0xFF1A, 0xFF5E};
    private static final int[] CJK = {0x0800, 0x9FA5, 0xAC00, 0xD7FF}; // 一-龥 ∪ ࠀ-一 ∪ 가-퟿, merged

    private static final long[] LETTER_SET = bmpSet(LETTERS), PUNCT_SET = bmpSet(PUNCT), CJK_SET = bmpSet(CJK);

    @Override
    public void split(int[] cp, int from, int to, IntList ends) {
        // Each stage maps the list of piece ends to a finer one.
        IntList cur = new IntList();
        cur.add(to);
        for (int stage = 1; stage <= 6; stage++) {
            IntList next = new IntList(cur.size() * 2);
            int s = from;
            for (int i = 0; i < cur.size(); i++) {
                int e = cur.get(i);
                if (stage == 4) trailingSpace(cp, s, e, next);
                else stage(stage, cp, s, e, next);
                s = e;
            }
            cur = next;
        }
        for (int i = 0; i < cur.size(); i++) ends.add(cur.get(i));
    }

    /** Splits [s, e) into the leftmost-first matches of one stage's regex and the gaps between them. */
    private static void stage(int stage, int[] cp, int s, int e, IntList out) {
        int gap = s;
        int p = s;
        while (p < e) {
            int m = match(stage, cp, p, e);
            if (m > p) {
                if (gap < p) out.add(p);
                out.add(m);
                p = gap = m;
            } else {
                p++;
            }
        }
        if (gap < e) out.add(e);
    }

    /** End of the match starting at p, or p when none does. */
    private static int match(int stage, int[] cp, int p, int e) {
        int c = cp[p];
        switch (stage) {
            case 1:
                return c == '\r' || c == '\n' ? p + 1 : p;
            case 2:
                return optionalSpaceThenRun(cp, p, e, LETTERS, LETTER_SET);
            case 3:
                return optionalSpaceThenRun(cp, p, e, PUNCT, PUNCT_SET);
            case 5: {
                int q = p;
                while (q < e && inClass(cp[q], CJK, CJK_SET)) q++;
                return q;
            }
            case 6: {
                int q = p;
                while (q < e && UnicodeClass.isNumber(cp[q])) q++;
                return q;
            }
            default:
                throw new IllegalArgumentException("stage " + stage);
        }
    }

    private static int optionalSpaceThenRun(int[] cp, int p, int e, int[] ranges, long[] bmp) {
        int q = p;
        if (UnicodeClass.isSpace(cp[q]) && q + 1 < e && inClass(cp[q + 1], ranges, bmp)) q++;
        int r = q;
        while (r < e && inClass(cp[r], ranges, bmp)) r++;
        return r == q ? p : r;
    }

    /** {@code \s+$}: the trailing whitespace of the piece, if any, becomes a piece of its own. */
    private static void trailingSpace(int[] cp, int s, int e, IntList out) {
        int t = e;
        while (t > s && UnicodeClass.isSpace(cp[t - 1])) t--;
        if (t > s && t < e) out.add(t);
        out.add(e);
    }

    private static boolean inClass(int c, int[] ranges, long[] bmp) {
        if (c < 0x10000) return (bmp[c >>> 6] & (1L << c)) != 0;
        return inRanges(c, ranges);
    }

    /** Membership for the BMP, whitespace removed (see the class comment). */
    private static long[] bmpSet(int[] ranges) {
        long[] set = new long[0x10000 / 64];
        for (int c = 0; c < 0x10000; c++) {
            if (!UnicodeClass.isSpace(c) && inRanges(c, ranges)) set[c >>> 6] |= 1L << c;
        }
        return set;
    }

    private static boolean inRanges(int c, int[] ranges) {
        for (int i = 0; i < ranges.length; i += 2) {
            if (c < ranges[i]) return false;
            if (c <= ranges[i + 1]) return true;
        }
        return false;
    }
}
