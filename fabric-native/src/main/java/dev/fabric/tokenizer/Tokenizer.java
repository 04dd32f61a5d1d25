package dev.fabric.tokenizer;

import dev.fabric.gguf.GgufMetadata;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Text to token ids and back, giving the ids llama.cpp gives for the same text and vocabulary.
 * Byte-level BPE ({@code tokenizer.ggml.model = gpt2}, with the pre-tokenizer named by
 * {@code tokenizer.ggml.pre}) and SentencePiece ({@code llama}). Immutable and thread-safe.
 *
 * <pre>{@code
 * Tokenizer tok = Tokenizer.fromGguf(GgufFile.open(path).metadata());
 * int[] ids = tok.encode("Hello", true, false);     // BOS if the model adds one, specials as plain text
 * String text = tok.decode(ids);
 * }</pre>
 */
public final class Tokenizer {
    private static final byte[] EMPTY = new byte[0];
    private static final byte[] UNKNOWN_GLYPH = "\u2585".getBytes(StandardCharsets.UTF_8);

    private final Vocabulary vocab;
    private final TokenType[] types;
    private final TextIndex byText;
    private final Model model;
    private final SpecialTokens specials;
    private final boolean[] endOfGeneration;
    private final byte[][] pieces;

    private Tokenizer(Vocabulary v) {
        this.vocab = v;
        int n = v.size();
        types = new TokenType[n];
        for (int i = 0; i < n; i++) types[i] = TokenType.of(v.tokenTypes()[i]);
        List<String> tokens = v.tokens();
        byText = new TextIndex(tokens);
        model = v.isBpe() ? new BpeModel(v, byText) : new SpmModel(v, byText);
        specials = new SpecialTokens(tokens, types);
        endOfGeneration = new boolean[n];
        for (int id : new int[] {v.eosId(), v.eotId(), v.eomId()}) if (id >= 0) endOfGeneration[id] = true;
        for (String t : Vocabulary.EOG_TEXTS) {
            int id = byText.get(t);
            if (id >= 0) endOfGeneration[id] = true;
        }
        pieces = new byte[n][];
    }

    public static Tokenizer of(Vocabulary vocabulary) {
        return new Tokenizer(vocabulary);
    }

    public static Tokenizer fromGguf(GgufMetadata metadata) {
        return new Tokenizer(Vocabulary.fromGguf(metadata));
    }

    public Vocabulary vocabulary() {
        return vocab;
    }

    // ---- encoding

    /** {@code encode(text, true, false)}: the model's default BOS/EOS, special-token texts read as plain text. */
    public int[] encode(String text) {
        return encode(text, true, false);
    }

    /**
     * Token ids of text. {@code addSpecial}: add BOS/EOS where the vocabulary says to ({@link #addBosDefault}).
     * {@code parseSpecial}: control-token texts in the input (e.g. {@code <|im_start|>}) become those tokens;
     * user-defined tokens are matched either way, as llama.cpp does.
     */
    public int[] encode(String text, boolean addSpecial, boolean parseSpecial) {
        IntList ids = new IntList(Math.max(16, text.length() / 3));
        encode(text, addSpecial, parseSpecial, ids, null);
        return ids.toArray();
    }

    /** As {@link #encode(String, boolean, boolean)}, with where in the text each token starts. */
    public Encoding encodeWithOffsets(String text, boolean addSpecial, boolean parseSpecial) {
        IntList ids = new IntList(Math.max(16, text.length() / 3));
        IntList offsets = new IntList(Math.max(16, text.length() / 3));
        encode(text, addSpecial, parseSpecial, ids, offsets);
        return new Encoding(ids.toArray(), offsets.toArray());
    }

    private void encode(String text, boolean addSpecial, boolean parseSpecial, IntList ids, IntList offsets) {
        if (addSpecial && vocab.addBos() && vocab.bosId() >= 0) add(ids, offsets, vocab.bosId(), 0);
        IntList parts = new IntList();
        specials.partition(text, parseSpecial, parts);
        boolean afterSpecial = true;
        for (int i = 0; i < parts.size(); i += 3) {
            int start = parts.get(i), end = parts.get(i + 1), id = parts.get(i + 2);
            if (id >= 0) {
                add(ids, offsets, id, start);
                afterSpecial = true;
            } else {
                model.encode(text, start, end, afterSpecial, ids, offsets);
                afterSpecial = false;
            }
        }
        if (addSpecial && vocab.addEos() && vocab.eosId() >= 0) add(ids, offsets, vocab.eosId(), text.length());
    }

    private static void add(IntList ids, IntList offsets, int id, int offset) {
        ids.add(id);
        if (offsets != null) offsets.add(offset);
    }

    // ---- decoding

    /**
     * Text of ids, special tokens written as their text. For SentencePiece with a space prefix, the space
     * that encoding prefixes (at the start and after each special token) is removed again, so that
     * {@code decode(encode(s)) == s} apart from BOS/EOS text.
     */
    public String decode(int[] ids) {
        return decode(ids, true);
    }

    /** As {@link #decode(int[])}; {@code renderSpecial = false} leaves out control tokens. */
    public String decode(int[] ids, boolean renderSpecial) {
        Utf8Accumulator acc = new Utf8Accumulator();
        boolean strip = !vocab.isBpe() && vocab.addSpacePrefix();
        boolean atStart = true;
        for (int id : ids) {
            byte[] b = pieceBytes(id, renderSpecial);
            TokenType t = types[id];
            boolean special = t == TokenType.CONTROL || t == TokenType.USER_DEFINED || t == TokenType.UNKNOWN;
            if (strip && atStart && !special && b.length > 0 && b[0] == ' ') {
                for (int k = 1; k < b.length; k++) acc.push(b[k] & 0xFF);
            } else {
                acc.push(b);
            }
            atStart = special;
        }
        acc.finish();
        return acc.take();
    }

    /** A streaming decoder that writes special tokens as their text. */
    public TokenDecoder newDecoder() {
        return new TokenDecoder(this, true);
    }

    public TokenDecoder newDecoder(boolean renderSpecial) {
        return new TokenDecoder(this, renderSpecial);
    }

    /**
     * The bytes a token stands for: byte-level pieces unmapped, SentencePiece's U+2581 as space, {@code <0xNN>}
     * as that byte. Control, unknown and unused tokens: their text when {@code renderSpecial}, else nothing
     * (SentencePiece's unknown token: U+2585, as llama.cpp prints it).
     */
    public byte[] pieceBytes(int id, boolean renderSpecial) {
        checkId(id);
        TokenType t = types[id];
        if (!renderSpecial && (t == TokenType.CONTROL || t == TokenType.UNUSED || t == TokenType.UNKNOWN)) {
            return t == TokenType.UNKNOWN && !vocab.isBpe() ? UNKNOWN_GLYPH.clone() : EMPTY;
        }
        byte[] p = pieces[id];
        if (p == null) pieces[id] = p = computePiece(id);
        return p.clone();
    }

    private byte[] computePiece(int id) {
        String text = vocab.tokens().get(id);
        TokenType t = types[id];
        if (t == TokenType.NORMAL || t == TokenType.UNDEFINED) {
            if (vocab.isBpe()) {
                ByteArrayOutputStream out = new ByteArrayOutputStream(text.length());
                for (int i = 0; i < text.length(); ) {
                    int cp = text.codePointAt(i);
                    int b = ByteLevel.byteOf(cp);
                    if (b >= 0) out.write(b);
                    else out.writeBytes(new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8));
                    i += Character.charCount(cp);
                }
                return out.toByteArray();
            }
            return text.replace((char) SpmModel.SPACE, ' ').getBytes(StandardCharsets.UTF_8);
        }
        if (t == TokenType.BYTE && text.length() == 6 && text.startsWith("<0x") && text.endsWith(">")) {
            try {
                return new byte[] {(byte) Integer.parseInt(text.substring(3, 5), 16)};
            } catch (NumberFormatException e) {
                // not a byte token after all: its text, below
            }
        }
        return text.getBytes(StandardCharsets.UTF_8);
    }

    /** A token for display: its text as decoding writes it, bytes that are not whole UTF-8 as {@code <0xNN>}. */
    public String piece(int id) {
        byte[] b = pieceBytes(id, true);
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < b.length; ) {
            int len = wellFormedLength(b, i);
            if (len > 0) {
                sb.append(new String(b, i, len, StandardCharsets.UTF_8));
                i += len;
            } else {
                sb.append(String.format("<0x%02X>", b[i] & 0xFF));
                i++;
            }
        }
        return sb.toString();
    }

    /** Length of the well-formed UTF-8 character at b[i], or 0 (Unicode Table 3-7). */
    private static int wellFormedLength(byte[] b, int i) {
        int c = b[i] & 0xFF;
        int need, lo = 0x80, hi = 0xBF;
        if (c < 0x80) return 1;
        if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            if (c == 0xE0) lo = 0xA0;
            if (c == 0xED) hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            if (c == 0xF0) lo = 0x90;
            if (c == 0xF4) hi = 0x8F;
        } else {
            return 0;
        }
        for (int k = 1; k <= need; k++) {
            if (i + k >= b.length) return 0;
            int x = b[i + k] & 0xFF;
            if (x < lo || x > hi) return 0;
            lo = 0x80;
            hi = 0xBF;
        }
        return need + 1;
    }

    // ---- vocabulary facts

    public int vocabSize() {
        return types.length;
    }

    /** The token's text as the vocabulary stores it (byte-level spelling, U+2581 for spaces, ...). */
    public String tokenText(int id) {
        checkId(id);
        return vocab.tokens().get(id);
    }

    /** The id whose text is exactly {@code text} (the last one, if several), or -1. */
    public int tokenId(String text) {
        return byText.get(text);
    }

    public TokenType tokenType(int id) {
        checkId(id);
        return types[id];
    }

    public boolean isControl(int id) {
        return tokenType(id) == TokenType.CONTROL;
    }

    /** Whether generating this token ends generation (EOS, EOT, EOM and llama.cpp's end-of-generation texts). */
    public boolean isEndOfGeneration(int id) {
        checkId(id);
        return endOfGeneration[id];
    }

    public int bosId() {
        return vocab.bosId();
    }

    public int eosId() {
        return vocab.eosId();
    }

    /** End of turn, -1 when the vocabulary has none. */
    public int eotId() {
        return vocab.eotId();
    }

    public int padId() {
        return vocab.padId();
    }

    public int unkId() {
        return vocab.unkId();
    }

    /** Whether {@code encode(text, true, ...)} prepends BOS. */
    public boolean addBosDefault() {
        return vocab.addBos();
    }

    public boolean addEosDefault() {
        return vocab.addEos();
    }

    private void checkId(int id) {
        if (id < 0 || id >= types.length) {
            throw new IndexOutOfBoundsException("token id " + id + " is outside the vocabulary (0.." + (types.length - 1) + ")");
        }
    }
}
