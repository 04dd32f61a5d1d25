package dev.fabric.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code fabric bench}: speed measurements on this machine, one subcommand per subject. */
@Command(name = "bench",
        mixinStandardHelpOptions = true,
        description = "Measure Fabric's speed on this machine (single runs; for comparisons, not assertions).",
        subcommands = {BenchKernelsCommand.class, BenchQuantizeCommand.class, BenchModelCommand.class, BenchTuneCommand.class},
        footer = {"", "Examples:", "  fabric bench kernels", "  fabric bench quantize --threads 2",
            "  fabric bench model --synth qwen3-0.6b -t 8", "  fabric bench tune --synth qwen3-0.6b --rank 16 --ctx 256 -t 2"})
public final class BenchCommand implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "Missing subcommand (kernels, quantize, model, tune).");
    }
}
