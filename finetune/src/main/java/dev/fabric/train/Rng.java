package dev.fabric.train;

import java.nio.charset.StandardCharsets;

/**
 * SplitMix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number generators", OOPSLA 2014): a 64-bit
 * state advanced by a fixed odd constant and mixed by two xor-shift-multiply rounds. Fully described by its one
 * {@code long} of state, so checkpoints save it exactly, and cheap to seed per purpose: {@link #forName} derives an
 * independent stream from (seed, name), so LoRA initialisation does not depend on tensor order or threads.
 */
public final class Rng {
    private static final long GOLDEN = 0x9E3779B97F4A7C15L;

    private long state;

    public Rng(long state) {
        this.state = state;
    }

    /**
     * The stream for {@code name} under {@code seed}: state = mix(seed + GOLDEN · (1 + FNV-1a-64(UTF-8 name))).
     */
    public static Rng forName(long seed, String name) {
        long h = 0xcbf29ce484222325L;                     // FNV-1a 64-bit offset basis
        for (byte b : name.getBytes(StandardCharsets.UTF_8)) {
            h ^= b & 0xff;
            h *= 0x100000001b3L;                          // FNV-1a 64-bit prime
        }
        return new Rng(mix(seed + GOLDEN * (1 + h)));
    }

    public long state() {
        return state;
    }

    /** Restores a saved state (checkpoint resume). */
    public void setState(long state) {
        this.state = state;
    }

    public long nextLong() {
        state += GOLDEN;
        return mix(state);
    }

    /** Uniform in [0, 1) from the top 53 bits. */
    public double nextDouble() {
        return (nextLong() >>> 11) * 0x1.0p-53;
    }

    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
