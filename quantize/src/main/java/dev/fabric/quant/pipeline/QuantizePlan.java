package dev.fabric.quant.pipeline;

import dev.fabric.gguf.GgufMetadata;
import dev.fabric.gguf.TensorSpec;
import dev.fabric.imatrix.Imatrix;
import dev.fabric.quant.preset.TypeChoice;
import java.util.List;
import java.util.Map;

/**
 * Everything decided before a byte is written: each tensor's type (in output order), the output metadata, the
 * importance weights each tensor will use, and the warnings llama-quantize would print.
 *
 * @param imatrix       the imatrix after --include/--exclude filtering, or null when none is used
 * @param weightsFor    tensor name to the imatrix weights it is quantized with (only tensors that have them)
 * @param fileType      the {@code general.file_type} written
 */
public record QuantizePlan(QuantizeRequest request, List<TypeChoice> choices, List<TensorSpec> specs,
                           GgufMetadata outputMetadata, int alignment, int fileType, Imatrix imatrix,
                           Map<String, float[]> weightsFor, List<String> warnings) {
    public QuantizePlan {
        choices = List.copyOf(choices);
        specs = List.copyOf(specs);
        weightsFor = Map.copyOf(weightsFor);
        warnings = List.copyOf(warnings);
    }

    /** Bytes of tensor data read from the input (all tensors). */
    public long inputBytes() {
        return choices.stream().mapToLong(c -> c.input().type().byteSize(c.input().shape())).sum();
    }

    /** Bytes of tensor data written (without padding). */
    public long outputBytes() {
        return choices.stream().mapToLong(TypeChoice::outputBytes).sum();
    }
}
