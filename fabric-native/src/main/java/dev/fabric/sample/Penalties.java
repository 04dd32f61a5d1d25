package dev.fabric.sample;

import dev.fabric.FabricException;

/**
 * Repetition penalties over the last {@code lastN} tokens seen (prompt and output), as llama.cpp's penalties
 * sampler applies them before any other step of the chain: a token that occurred c > 0 times has its logit
 * divided by {@code repeat} when positive and multiplied by it otherwise, then lowered by
 * {@code c * frequency + presence}.
 *
 * @param repeat    1 = off (llama.cpp's default)
 * @param lastN     how many recent tokens count; 0 = off, -1 = all of them (the whole context)
 * @param frequency per occurrence; 0 = off
 * @param presence  once for any occurrence; 0 = off
 */
public record Penalties(float repeat, int lastN, float frequency, float presence) {
    public static final Penalties NONE = new Penalties(1f, 64, 0f, 0f);

    public Penalties {
        if (!(repeat > 0) || !Float.isFinite(repeat)) throw new FabricException("--repeat-penalty must be > 0, got " + repeat);
        if (lastN < -1) throw new FabricException("--repeat-last-n must be -1, 0 or more, got " + lastN);
        if (!Float.isFinite(frequency)) throw new FabricException("--frequency-penalty must be a finite number");
        if (!Float.isFinite(presence)) throw new FabricException("--presence-penalty must be a finite number");
    }

    /** Whether applying these changes nothing. */
    public boolean off() {
        return lastN == 0 || (repeat == 1f && frequency == 0f && presence == 0f);
    }
}
