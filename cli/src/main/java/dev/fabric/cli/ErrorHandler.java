package dev.fabric.cli;

import dev.fabric.FabricException;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.MalformedInputException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import picocli.CommandLine;

/**
 * Fabric's one error policy: whatever goes wrong ends as a short message on stderr and one of the README's exit codes
 * (2 usage, 3 bad input, 4 I/O or out of resources, 70 internal); never a JVM stack trace or exit code 1 (a stack
 * trace is added with FABRIC_DEBUG=1).
 *
 * <ul>
 * <li>{@link FabricException}: its message and exit code.</li>
 * <li>Command-line mistakes picocli finds (unknown option, a number that is not one): 2.</li>
 * <li>A missing input file: 3; text that is not UTF-8: 3; other I/O errors (permissions, full disk): 4.</li>
 * <li>Out of memory (Java heap, native allocation, threads): 4, saying what to change.</li>
 * <li>Anything else is a bug: 70, "internal error", with a request to report it.</li>
 * </ul>
 */
final class ErrorHandler implements CommandLine.IExecutionExceptionHandler, CommandLine.IParameterExceptionHandler {
    @Override
    public int handleExecutionException(Exception ex, CommandLine cl, CommandLine.ParseResult parsed) {
        Throwable t = ex instanceof CommandLine.ExecutionException ee && ee.getCause() != null ? ee.getCause() : ex;
        return report(t, "fabric " + cl.getCommandName(), System.err);
    }

    @Override
    public int handleParseException(CommandLine.ParameterException ex, String[] args) {
        CommandLine cl = ex.getCommandLine();
        PrintWriter err = cl.getErr();
        String cmd = cl.getCommandSpec().qualifiedName(" ");
        err.println(cmd + ": error: " + ex.getMessage());
        CommandLine.UnmatchedArgumentException.printSuggestions(ex, err);
        err.println("Run '" + cmd + " --help' for the options and an example.");
        if (debug()) ex.printStackTrace(err);
        err.flush();
        return FabricException.EXIT_USAGE;
    }

    /** Prints {@code t} as {@code who: ...} on {@code err} and returns its exit code. */
    static int report(Throwable t, String who, PrintStream err) {
        boolean debug = debug();
        int code;
        String msg;
        Throwable cause = t instanceof UncheckedIOException u && u.getCause() != null ? u.getCause() : t;
        if (cause instanceof FabricException fe) {
            code = fe.exitCode();
            msg = "error: " + fe.getMessage();
        } else if (cause instanceof CommandLine.ParameterException pe) {
            code = FabricException.EXIT_USAGE;
            msg = "error: " + pe.getMessage();
        } else if (cause instanceof CharacterCodingException cc) {
            // the readers name the file and offset themselves; this is the fallback for one that does not
            code = FabricException.EXIT_INPUT;
            msg = "error: a text input is not valid UTF-8 ("
                    + (cc instanceof MalformedInputException mi ? "a malformed sequence of " + mi.getInputLength()
                            + " byte" + (mi.getInputLength() == 1 ? "" : "s") : "a character that cannot be decoded")
                    + "); convert it to UTF-8, e.g. with iconv -t UTF-8";
        } else if (cause instanceof NoSuchFileException nf) {
            code = FabricException.EXIT_INPUT;
            msg = "error: no such file: " + nf.getFile();
        } else if (cause instanceof AccessDeniedException ad) {
            code = FabricException.EXIT_IO;
            msg = "I/O error: permission denied: " + ad.getFile();
        } else if (cause instanceof FileSystemException fs) {
            code = FabricException.EXIT_IO;
            msg = "I/O error: " + fs.getFile() + (fs.getReason() != null ? ": " + fs.getReason() : "");
        } else if (cause instanceof IOException io) {
            code = FabricException.EXIT_IO;
            msg = "I/O error: " + (io.getMessage() != null ? io.getMessage() : io.getClass().getSimpleName());
        } else if (isOutOfMemory(cause)) {
            code = FabricException.EXIT_IO;
            msg = outOfMemory(cause);
        } else {
            code = FabricException.EXIT_INTERNAL;
            msg = "internal error: " + cause + (debug ? ""
                    : " (a bug in fabric; run again with FABRIC_DEBUG=1 for the stack trace to report)");
        }
        err.println(who + ": " + msg);
        if (debug) t.printStackTrace(err);
        err.flush();
        return code;
    }

    /** Java heap, direct buffers, threads, or a native allocation that JavaCPP reports as std::bad_alloc. */
    static boolean isOutOfMemory(Throwable t) {
        return t instanceof OutOfMemoryError
                || (t instanceof RuntimeException && t.getMessage() != null && t.getMessage().contains("bad_alloc"));
    }

    private static String outOfMemory(Throwable t) {
        String m = t.getMessage() == null ? "" : t.getMessage();
        if (m.contains("native thread"))
            return "out of resources: the system gives no more threads (" + m + "); use fewer --threads";
        return "out of memory" + (m.isEmpty() ? "" : " (" + m + ")") + ": use a smaller --ctx or --batch (-b), a "
                + "smaller model, or give Java more heap with FABRIC_JAVA_OPTS=-Xmx<size> (now at most "
                + Limits.gib(Runtime.getRuntime().maxMemory()) + ")";
    }

    static boolean debug() {
        return "1".equals(System.getenv("FABRIC_DEBUG"));
    }
}
