package dev.fabric.lora;

import java.util.EnumSet;
import java.util.Set;

/**
 * The shape of a LoRA: rank r, alpha, dropout on the adapter's input, rsLoRA scaling, the target roles and the
 * initialisation seed. The layer computes {@code W x + scale · B (A · dropout(x))} with {@code scale = alpha / r},
 * or {@code alpha / √r} with rsLoRA (Kalajdzievski 2023; PEFT's {@code use_rslora}).
 */
public record LoraConfig(int rank, double alpha, double dropout, boolean rsLora, Set<LoraRole> roles, long seed) {
    public LoraConfig {
        if (rank < 1) throw new IllegalArgumentException("LoRA rank must be at least 1, got " + rank);
        if (!(alpha > 0) || !Double.isFinite(alpha))
            throw new IllegalArgumentException("LoRA alpha must be a positive number, got " + alpha);
        if (!(dropout >= 0 && dropout < 1))
            throw new IllegalArgumentException("LoRA dropout must be in [0, 1), got " + dropout);
        if (roles.isEmpty()) throw new IllegalArgumentException("no LoRA target roles");
        roles = Set.copyOf(EnumSet.copyOf(roles));
    }

    /** The factor s in {@code W x + s B A x}. */
    public double scale() {
        return rsLora ? alpha / Math.sqrt(rank) : alpha / rank;
    }

    /**
     * The {@code adapter.lora.alpha} to write in a llama.cpp adapter: llama.cpp always scales by alpha / r, so an
     * rsLoRA adapter is written with alpha · √r (training.md), giving the same scale.
     */
    public float ggufAlpha() {
        return (float) (rsLora ? alpha * Math.sqrt(rank) : alpha);
    }
}
