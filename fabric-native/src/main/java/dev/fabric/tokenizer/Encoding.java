package dev.fabric.tokenizer;

/**
 * Token ids with, for each, the UTF-16 index in the input where it starts (a token that starts inside a
 * character, as byte-level pieces of one may, points at that character; BOS points at 0, EOS at the end).
 */
public record Encoding(int[] ids, int[] offsets) {
    public Encoding {
        if (ids.length != offsets.length) throw new IllegalArgumentException("one offset per id");
    }

    public int size() {
        return ids.length;
    }
}
