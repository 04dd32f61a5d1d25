package dev.fabric.sample;

import dev.fabric.FabricException;

/**
 * Sampling settings with llama.cpp's common defaults (temp 0.8, top-k 40, top-p 0.95, min-p 0.05).
 *
 * @param temperature 0 or less: greedy (the most likely token, lowest id among equals)
 * @param topK        keep the k most likely tokens; 0 or less: off
 * @param topP        keep the smallest most-likely set whose probability reaches p; 1 or more: off
 * @param minP        keep tokens at least minP times as likely as the top one; 0 or less: off
 * @param seed        seed of the random stream: the same seed, model and prompt give the same tokens
 */
public record SamplerConfig(float temperature, int topK, float topP, float minP, long seed) {
    public static final SamplerConfig LLAMA_DEFAULTS = new SamplerConfig(0.8f, 40, 0.95f, 0.05f, 0);

    public SamplerConfig {
        if (!Float.isFinite(temperature)) throw new FabricException("--temp must be a finite number");
        if (!(topP > 0)) throw new FabricException("--top-p must be > 0, got " + topP);
        if (!(minP < 1) || Float.isNaN(minP)) throw new FabricException("--min-p must be < 1, got " + minP);
    }

    public static SamplerConfig greedy() {
        return new SamplerConfig(0, 0, 1, 0, 0);
    }

    public boolean isGreedy() {
        return temperature <= 0;
    }
}
