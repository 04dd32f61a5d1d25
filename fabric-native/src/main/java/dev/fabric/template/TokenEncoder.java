package dev.fabric.template;

/**
 * Tokenization as the loss mask needs it: the whole rendered conversation at once, special tokens written
 * in the text parsed as such, no BOS added (the template writes its own), and where each token starts.
 */
@FunctionalInterface
public interface TokenEncoder {
    Encoding encode(String text);

    /**
     * @param ids    token ids
     * @param starts for each token, the index in the text (a Java {@code char} index) of its first character
     */
    record Encoding(int[] ids, int[] starts) {
        public Encoding {
            if (ids.length != starts.length) throw new IllegalArgumentException("ids and starts differ in length");
        }
    }
}
