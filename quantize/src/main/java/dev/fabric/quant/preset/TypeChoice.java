package dev.fabric.quant.preset;

import dev.fabric.gguf.GgmlType;

/**
 * The decision for one tensor: its input, the type it is written in, and why.
 *
 * @param fallbackFrom the type the rules chose before the row-size fallback replaced it, or null
 */
public record TypeChoice(WeightInfo input, GgmlType type, GgmlType fallbackFrom) {

    public String name() {
        return input.name();
    }

    /** True when the data must be converted (llama-quantize copies a tensor whose type does not change). */
    public boolean converts() {
        return input.type() != type;
    }

    /** Bytes written for this tensor, before padding. */
    public long outputBytes() {
        return type.byteSize(input.shape());
    }
}
