package dev.fabric.quant.pipeline;

import dev.fabric.gguf.GgmlType;
import dev.fabric.quant.preset.Preset;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * One {@code fabric quantize} run, llama-quantize's arguments as a record.
 *
 * @param threads            worker threads for the kernels; 0 or less = all hardware threads
 * @param imatrix            importance-matrix file (GGUF or legacy .dat), or null
 * @param imatrixArg         the imatrix path as the user typed it: recorded in {@code quantize.imatrix.file}
 * @param includeWeights     {@code --include-weights}: use imatrix entries whose names contain one of these
 * @param excludeWeights     {@code --exclude-weights}: drop imatrix entries whose names contain one of these
 * @param outputTensorType   {@code --output-tensor-type}, or null
 * @param tokenEmbeddingType {@code --token-embedding-type}, or null
 */
public record QuantizeRequest(Path input, Path output, Preset preset, int threads, Path imatrix, String imatrixArg,
                              List<String> includeWeights, List<String> excludeWeights, GgmlType outputTensorType,
                              GgmlType tokenEmbeddingType, boolean leaveOutputTensor, boolean pure,
                              boolean allowRequantize) {
    public QuantizeRequest {
        Objects.requireNonNull(input, "input");
        Objects.requireNonNull(output, "output");
        Objects.requireNonNull(preset, "preset");
        includeWeights = List.copyOf(includeWeights);
        excludeWeights = List.copyOf(excludeWeights);
        if (imatrix != null && imatrixArg == null) imatrixArg = imatrix.toString();
    }

    /** A plain run: no imatrix, no flags, all hardware threads. */
    public static QuantizeRequest of(Path input, Path output, Preset preset) {
        return new QuantizeRequest(input, output, preset, 0, null, null, List.of(), List.of(), null, null, false,
                false, false);
    }

    public QuantizeRequest withThreads(int n) {
        return new QuantizeRequest(input, output, preset, n, imatrix, imatrixArg, includeWeights, excludeWeights,
                outputTensorType, tokenEmbeddingType, leaveOutputTensor, pure, allowRequantize);
    }

    public QuantizeRequest withImatrix(Path file, String asTyped) {
        return new QuantizeRequest(input, output, preset, threads, file, asTyped, includeWeights, excludeWeights,
                outputTensorType, tokenEmbeddingType, leaveOutputTensor, pure, allowRequantize);
    }

    public QuantizeRequest withOutput(Path out) {
        return new QuantizeRequest(input, out, preset, threads, imatrix, imatrixArg, includeWeights, excludeWeights,
                outputTensorType, tokenEmbeddingType, leaveOutputTensor, pure, allowRequantize);
    }

    public QuantizeRequest withAllowRequantize(boolean allow) {
        return new QuantizeRequest(input, output, preset, threads, imatrix, imatrixArg, includeWeights, excludeWeights,
                outputTensorType, tokenEmbeddingType, leaveOutputTensor, pure, allow);
    }

    /** Threads to use: the request's, or every hardware thread when it says 0 or less. */
    public int effectiveThreads() {
        return threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
    }
}
