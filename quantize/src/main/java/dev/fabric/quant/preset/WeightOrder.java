package dev.fabric.quant.preset;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Comparator;

/**
 * The order in which llama-quantize visits and writes tensors: llama.cpp's model loader keeps its weights in a
 * sorted map keyed by name, ordered by the block number read as by {@code sscanf(name, "blk.%d.")} (tensors
 * outside blocks count as layer -1), then by {@code strcmp} of the names (spec section 1, "How llama-quantize
 * writes the output", item 4). So {@code output.weight} precedes {@code output_norm.weight} ('.' &lt; '_') and
 * {@code blk.2.*} precedes {@code blk.10.*}. The mixture counters (attn_v, ffn_down) advance in this order too.
 */
public final class WeightOrder implements Comparator<String> {
    public static final WeightOrder INSTANCE = new WeightOrder();

    private WeightOrder() {}

    @Override
    public int compare(String a, String b) {
        int la = layerOf(a);
        int lb = layerOf(b);
        if (la != lb) return Integer.compare(la, lb);
        // strcmp compares unsigned bytes of the UTF-8 names
        return Arrays.compareUnsigned(a.getBytes(StandardCharsets.UTF_8), b.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * The block number of {@code blk.N...}, or -1. Mirrors {@code sscanf("blk.%d.")}: after the literal prefix,
     * optional white space, an optional sign and at least one digit; what follows does not matter.
     */
    public static int layerOf(String name) {
        if (!name.startsWith("blk.")) return -1;
        int i = 4;
        int n = name.length();
        while (i < n && Character.isWhitespace(name.charAt(i)) && name.charAt(i) < 128) i++;
        boolean neg = false;
        if (i < n && (name.charAt(i) == '+' || name.charAt(i) == '-')) {
            neg = name.charAt(i) == '-';
            i++;
        }
        int start = i;
        long v = 0;
        while (i < n && name.charAt(i) >= '0' && name.charAt(i) <= '9') {
            v = Math.min(v * 10 + (name.charAt(i) - '0'), 1L << 40);
            i++;
        }
        if (i == start) return -1;
        long s = neg ? -v : v;
        return (int) Math.max(Integer.MIN_VALUE, Math.min(Integer.MAX_VALUE, s));
    }
}
