package dev.fabric.tokenizer;

/**
 * The code point classes the pre-tokenizer regexes use: {@code \p{L}}, {@code \p{N}} and {@code \s}.
 * Letters and numbers are the Unicode general categories L* and N*; whitespace is the Unicode
 * White_Space property (not {@link Character#isWhitespace}, which leaves out U+00A0 and U+202F and adds
 * U+001C..U+001F), which is what llama.cpp's own tables classify as whitespace.
 */
final class UnicodeClass {
    static final byte OTHER = 0, LETTER = 1, NUMBER = 2, SPACE = 3;

    /** Class of every BMP code point, looked up per character on the hot path. */
    private static final byte[] BMP = new byte[0x10000];

    static {
        for (int cp = 0; cp < 0x10000; cp++) BMP[cp] = compute(cp);
    }

    private UnicodeClass() {}

    static int of(int cp) {
        return cp < 0x10000 ? BMP[cp] : compute(cp);
    }

    static boolean isLetter(int cp) {
        return of(cp) == LETTER;
    }

    static boolean isNumber(int cp) {
        return of(cp) == NUMBER;
    }

    static boolean isSpace(int cp) {
        return of(cp) == SPACE;
    }

    private static byte compute(int cp) {
        if (isWhiteSpaceProperty(cp)) return SPACE;
        switch (Character.getType(cp)) {
            case Character.UPPERCASE_LETTER, Character.LOWERCASE_LETTER, Character.TITLECASE_LETTER,
                 Character.MODIFIER_LETTER, Character.OTHER_LETTER:
                return LETTER;
            case Character.DECIMAL_DIGIT_NUMBER, Character.LETTER_NUMBER, Character.OTHER_NUMBER:
                return NUMBER;
            default:
                return OTHER;
        }
    }

    /** Unicode PropList.txt, White_Space. */
    static boolean isWhiteSpaceProperty(int cp) {
        return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680
                || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F
                || cp == 0x205F || cp == 0x3000;
    }
}
