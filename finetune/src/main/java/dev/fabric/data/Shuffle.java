package dev.fabric.data;

/**
 * Seeded shuffling, the same on every JVM and platform: Fisher-Yates (Durstenfeld's form, from the last
 * element down) drawing from SplitMix64 (Steele, Lea and Flood 2014: state += 0x9E3779B97F4A7C15, then the
 * murmur3-style finaliser with shifts 30/27/31). Epoch {@code e} of seed {@code s} starts the generator at
 * {@code mix(s) ^ mix(e + 1)}, so each epoch has its own order and any epoch can be recomputed alone (as a
 * resumed run must). The index bound uses Lemire's unbiased multiply-and-reject.
 */
public final class Shuffle {
    private Shuffle() {}

    /** The stream used to pick the held-out validation rows (kept apart from the epochs' streams). */
    public static final long VALIDATION_STREAM = -1;

    /** SplitMix64's finaliser. */
    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** The indices 0..n-1 in epoch {@code epoch}'s order. */
    public static int[] order(int n, long seed, long epoch) {
        int[] a = new int[n];
        for (int i = 0; i < n; i++) a[i] = i;
        long state = mix(seed) ^ mix(epoch + 1);
        for (int i = n - 1; i > 0; i--) {
            state += 0x9E3779B97F4A7C15L;
            int j = bounded(mix(state), i + 1);
            int t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
        return a;
    }

    /** A uniform index in [0, bound) from 64 random bits (Lemire 2019, with the high 32 bits). */
    private static int bounded(long bits, int bound) {
        long x = bits >>> 32;
        long m = x * bound;
        long low = m & 0xFFFFFFFFL;
        if (low < bound) {
            long threshold = (0x100000000L - bound) % bound;
            long more = bits;
            while (low < threshold) {
                more = mix(more + 0x9E3779B97F4A7C15L);
                x = more >>> 32;
                m = x * bound;
                low = m & 0xFFFFFFFFL;
            }
        }
        return (int) (m >>> 32);
    }
}
