package dev.fabric.quant.preset;

import dev.fabric.gguf.GgmlType;
import java.util.Objects;

/**
 * What decides each tensor's type besides its name and shape (llama-quantize's flags, spec section 4.3).
 *
 * @param outputTensorType   {@code --output-tensor-type}, or null
 * @param tokenEmbeddingType {@code --token-embedding-type}, or null
 * @param leaveOutputTensor  {@code --leave-output-tensor}: output.weight keeps its input type
 * @param pure               {@code --pure}: no mixture rules, only the default type (and the shape fallback)
 * @param hasImatrix         an importance matrix with at least one entry is in use (two rules depend on it)
 */
public record TypeOptions(Preset preset, GgmlType outputTensorType, GgmlType tokenEmbeddingType,
                          boolean leaveOutputTensor, boolean pure, boolean hasImatrix) {
    public TypeOptions {
        Objects.requireNonNull(preset, "preset");
    }

    public static TypeOptions of(Preset preset) {
        return new TypeOptions(preset, null, null, false, false, false);
    }

    public TypeOptions withImatrix(boolean has) {
        return new TypeOptions(preset, outputTensorType, tokenEmbeddingType, leaveOutputTensor, pure, has);
    }
}
