package dev.fabric.cli;

import dev.fabric.FabricException;
import dev.fabric.backend.cpu.CpuVariant;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code fabric} command: parses arguments and delegates to the modules. */
@Command(name = "fabric",
        mixinStandardHelpOptions = true,
        versionProvider = VersionInfo.class,
        description = {
            "Fabric: adapt, quantize and evaluate small open LLMs on your own machine.",
            "Reads and writes llama.cpp's GGUF; nothing leaves this machine."},
        subcommands = {InspectCommand.class, TokenizeCommand.class, QuantizeCommand.class, ImatrixCommand.class,
            PerplexityCommand.class, GenerateCommand.class,
            BenchCommand.class,
            TuneCommand.class, BaseModelCommand.class, MergeCommand.class,
            CommandLine.HelpCommand.class},
        footer = {"", "Run 'fabric COMMAND --help' for a command's options and an example."})
public final class Main implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** Caps every CPU kernel of this run; applied while parsing, before any command touches the native code. */
    @CommandLine.Option(names = "--cpu-variant", paramLabel = "VARIANT", scope = CommandLine.ScopeType.INHERIT,
            defaultValue = "${env:" + CpuVariant.ENV + "}",
            description = "CPU kernels to run at most: generic, avx2, avx512, neon or native (the default; also "
                    + "set by the environment variable " + CpuVariant.ENV + ").")
    void cpuVariant(String variant) {
        if (variant == null || variant.isBlank()) return;
        try {
            CpuVariant.force(variant, variant.equals(System.getenv(CpuVariant.ENV)) ? CpuVariant.ENV : "--cpu-variant");
        } catch (FabricException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
    }

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "Missing command.");
    }

    /**
     * Builds the command line with Fabric's error policy ({@link ErrorHandler}): messages on stderr, the README's
     * exit codes, Errors (out of memory, stack overflow) included, which picocli would otherwise let escape.
     */
    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Main());
        ErrorHandler handler = new ErrorHandler();
        cl.setExecutionExceptionHandler(handler);
        cl.setParameterExceptionHandler(handler);
        cl.setExecutionStrategy(parsed -> {
            try {
                return new CommandLine.RunLast().execute(parsed);
            } catch (Error e) {
                CommandLine.ParseResult last = parsed;
                while (last.subcommand() != null) last = last.subcommand();
                throw new CommandLine.ExecutionException(last.commandSpec().commandLine(), String.valueOf(e), e);
            }
        });
        return cl;
    }

    public static void main(String[] args) {
        int code;
        try {
            code = commandLine().execute(args);
        } catch (Throwable t) { // the handlers cover the commands; this covers picocli itself
            code = ErrorHandler.report(t, "fabric", System.err);
        }
        System.exit(code);
    }
}
