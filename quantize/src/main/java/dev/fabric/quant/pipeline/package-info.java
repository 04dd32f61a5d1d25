/**
 * The {@code fabric quantize} pipeline: {@link dev.fabric.quant.pipeline.QuantizePipeline#run} plans every
 * tensor's type and checks the imatrix, then streams the model tensor by tensor from its memory map through the
 * native kernels into a GGUF laid out byte for byte as llama-quantize writes it, via a temporary file that is only
 * renamed into place when complete. {@link dev.fabric.quant.pipeline.ConsoleProgress} is the console listener
 * (progress bar, summary table); {@link dev.fabric.quant.pipeline.QuantizePipeline#bench} times a run.
 */
package dev.fabric.quant.pipeline;
