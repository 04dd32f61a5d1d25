package dev.fabric;

/**
 * An error a user can cause and act on (bad file, bad argument, full disk). The message must say what is
 * wrong and where (file, offset, field). Programming errors use the JDK's own exceptions instead.
 * The CLI maps {@link #exitCode()} to the process exit status.
 */
public class FabricException extends RuntimeException {
    public static final int EXIT_USAGE = 2;
    public static final int EXIT_INPUT = 3;
    public static final int EXIT_IO = 4;
    public static final int EXIT_INTERNAL = 70;

    private final int exitCode;

    public FabricException(String message) {
        this(message, EXIT_INPUT, null);
    }

    public FabricException(String message, Throwable cause) {
        this(message, EXIT_INPUT, cause);
    }

    public FabricException(String message, int exitCode, Throwable cause) {
        super(message, cause);
        this.exitCode = exitCode;
    }

    public int exitCode() {
        return exitCode;
    }
}
