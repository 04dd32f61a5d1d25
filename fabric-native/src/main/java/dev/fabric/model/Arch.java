package dev.fabric.model;

import dev.fabric.FabricException;
import dev.fabric.backend.RopeLayout;

/**
 * The decoder architectures the engine runs, by their GGUF {@code general.architecture} name, with what sets
 * them apart: the rotary layout (llama.cpp's rope type for the arch), per-head q/k RMS norms (qwen3), q/k/v
 * biases (qwen2).
 */
public enum Arch {
    LLAMA("llama", RopeLayout.NORMAL, false, false),
    QWEN2("qwen2", RopeLayout.NEOX, false, true),
    QWEN3("qwen3", RopeLayout.NEOX, true, false);

    private final String ggufName;
    private final RopeLayout rope;
    private final boolean qkNorm;
    private final boolean qkvBias;

    Arch(String ggufName, RopeLayout rope, boolean qkNorm, boolean qkvBias) {
        this.ggufName = ggufName;
        this.rope = rope;
        this.qkNorm = qkNorm;
        this.qkvBias = qkvBias;
    }

    public String ggufName() {
        return ggufName;
    }

    public RopeLayout rope() {
        return rope;
    }

    public boolean qkNorm() {
        return qkNorm;
    }

    public boolean qkvBias() {
        return qkvBias;
    }

    /** The arch named {@code name} in {@code source}; FabricException naming it where the engine lacks it. */
    public static Arch of(String name, String source) {
        for (Arch a : values()) if (a.ggufName.equals(name)) return a;
        throw new FabricException(source + ": general.architecture '" + name
                + "' is not supported (supported: llama, qwen2, qwen3)");
    }
}
