package dev.fabric.data;

import dev.fabric.FabricException;

/** Training data that cannot be used; the message names the file and line (or Arrow row) at fault. */
public class DataException extends FabricException {
    public DataException(String message) {
        super(message);
    }

    public DataException(String message, Throwable cause) {
        super(message, cause);
    }

    public DataException(String message, int exitCode, Throwable cause) {
        super(message, exitCode, cause);
    }
}
