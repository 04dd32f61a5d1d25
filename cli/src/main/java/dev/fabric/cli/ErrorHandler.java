package dev.fabric.cli;

import dev.fabric.FabricException;
import picocli.CommandLine;

/** Maps exceptions to a one-line message on stderr and an exit code; stack traces only with FABRIC_DEBUG=1. */
final class ErrorHandler implements CommandLine.IExecutionExceptionHandler {
    @Override
    public int handleExecutionException(Exception ex, CommandLine cl, CommandLine.ParseResult parsed) {
        boolean debug = "1".equals(System.getenv("FABRIC_DEBUG"));
        if (ex instanceof FabricException fe) {
            System.err.println("fabric " + cl.getCommandName() + ": error: " + fe.getMessage());
            if (debug) fe.printStackTrace();
            return fe.exitCode();
        }
        if (ex instanceof java.nio.file.NoSuchFileException nf) {
            System.err.println("fabric " + cl.getCommandName() + ": error: no such file: " + nf.getFile());
            return FabricException.EXIT_INPUT;
        }
        if (ex instanceof java.io.IOException io) {
            System.err.println("fabric " + cl.getCommandName() + ": I/O error: " + io.getMessage());
            if (debug) io.printStackTrace();
            return FabricException.EXIT_IO;
        }
        System.err.println("fabric " + cl.getCommandName() + ": internal error: " + ex);
        ex.printStackTrace();
        return FabricException.EXIT_INTERNAL;
    }
}
