package dev.fabric.cli;

import dev.fabric.FabricException;
import dev.fabric.gguf.GgmlType;
import dev.fabric.quant.pipeline.ConsoleProgress;
import dev.fabric.quant.pipeline.QuantizePipeline;
import dev.fabric.quant.pipeline.QuantizeRequest;
import dev.fabric.quant.preset.Preset;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code fabric quantize}: llama-quantize's arguments, parsed here and handed to {@link QuantizePipeline}. */
@Command(name = "quantize",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {
            "Quantizes a GGUF model to TYPE, writing the same bytes llama-quantize writes.",
            "",
            "Arguments, in llama-quantize's order: IN.gguf [OUT.gguf] TYPE [THREADS].",
            "Without OUT the result is ggml-model-TYPE.gguf beside IN.",
            "",
            "TYPE: Q4_K_M (alias Q4_K), Q4_K_S, Q5_K_M (Q5_K), Q5_K_S, Q6_K, Q8_0, Q3_K_M (Q3_K), Q3_K_S, Q3_K_L, "
                    + "Q2_K, Q4_0, Q4_1, Q5_0, Q5_1, IQ4_NL, IQ4_XS, F16, BF16, F32, COPY, or a file-type number.",
            "Norms and other 1-D tensors keep their type. An imatrix from 'fabric imatrix' or llama-imatrix "
                    + "(.gguf or legacy .dat) improves the low-bit types."},
        footer = {"", "Example:",
            "  fabric quantize --imatrix m.imatrix.gguf m-f16.gguf m-Q4_K_M.gguf Q4_K_M 8"})
final class QuantizeCommand implements Callable<Integer> {

    @Parameters(arity = "2..4", paramLabel = "IN.gguf [OUT.gguf] TYPE [THREADS]", hideParamSyntax = true,
            description = "input model, output file (optional), preset, threads (optional)")
    List<String> args = new ArrayList<>();

    @Option(names = "--imatrix", paramLabel = "FILE", description = "importance matrix (GGUF or legacy .dat)")
    String imatrix;

    @Option(names = "--include-weights", paramLabel = "NAME",
            description = "use the imatrix only for tensors whose name contains NAME (repeatable)")
    List<String> include = new ArrayList<>();

    @Option(names = "--exclude-weights", paramLabel = "NAME",
            description = "do not use the imatrix for tensors whose name contains NAME (repeatable)")
    List<String> exclude = new ArrayList<>();

    @Option(names = "--output-tensor-type", paramLabel = "TYPE", description = "type of output.weight (e.g. Q8_0)")
    String outputType;

    @Option(names = "--token-embedding-type", paramLabel = "TYPE", description = "type of token_embd.weight")
    String embeddingType;

    @Option(names = "--leave-output-tensor", description = "keep output.weight in its input type")
    boolean leaveOutput;

    @Option(names = "--pure", description = "no mixture: every quantized tensor gets TYPE's default type")
    boolean pure;

    @Option(names = "--allow-requantize", description = "accept already-quantized input (dequantized first; "
            + "quality suffers)")
    boolean allowRequantize;

    @Option(names = "--threads", paramLabel = "N", description = "worker threads, at most 4 per core (default: all cores)")
    Integer threads;

    @Option(names = {"-v", "--verbose"}, description = "list every tensor the imatrix does not cover")
    boolean verbose;

    @Override
    public Integer call() {
        QuantizeRequest req = parse();
        ConsoleProgress progress = new ConsoleProgress(System.err, verbose);
        try {
            QuantizePipeline.run(req, progress);
        } finally {
            progress.abort();
        }
        return 0;
    }

    /** Positional arguments as llama-quantize reads them: OUT may be left out when the second one is a TYPE. */
    QuantizeRequest parse() {
        Path in = Path.of(args.get(0));
        int i = 1;
        Path out = null;
        if (!Preset.isPreset(args.get(1)) || args.size() == 4) out = Path.of(args.get(i++));
        if (i >= args.size()) throw usage("missing TYPE after " + args.get(i - 1));
        Preset preset = Preset.parse(args.get(i++));
        if (out == null) {
            Path dir = in.toAbsolutePath().getParent();
            out = dir.resolve("ggml-model-" + preset.name() + ".gguf");
        }
        int n = threads == null ? 0 : threads;
        if (i < args.size()) {
            if (threads != null) throw usage("THREADS given both as an argument and as --threads");
            try {
                n = Integer.parseInt(args.get(i++));
            } catch (NumberFormatException e) {
                throw usage("THREADS must be a number, got '" + args.get(i - 1) + "'");
            }
        }
        if (i < args.size()) throw usage("unexpected argument '" + args.get(i) + "'");
        Limits.threads(n, threads != null ? "--threads" : "THREADS");
        if (imatrix == null && (!include.isEmpty() || !exclude.isEmpty()))
            throw usage("--include-weights/--exclude-weights need --imatrix");
        if (!include.isEmpty() && !exclude.isEmpty())
            throw usage("--include-weights and --exclude-weights cannot be used together");
        return new QuantizeRequest(in, out, preset, n, imatrix == null ? null : Path.of(imatrix), imatrix, include,
                exclude, type(outputType, "--output-tensor-type"), type(embeddingType, "--token-embedding-type"),
                leaveOutput, pure, allowRequantize);
    }

    private static GgmlType type(String s, String flag) {
        if (s == null) return null;
        try {
            return GgmlType.valueOf(s.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw usage(flag + ": unknown tensor type '" + s + "' (e.g. Q8_0, Q6_K, Q4_K, F16)");
        }
    }

    private static FabricException usage(String msg) {
        return new FabricException(msg, FabricException.EXIT_USAGE, null);
    }
}
