package dev.fabric.gguf;

import dev.fabric.FabricException;
import java.nio.file.Path;

/**
 * A GGUF file (or metadata) that is not what the format or the caller requires. The message names the file, what
 * is wrong, and the byte offset where it was found (when there is one).
 */
public final class GgufFormatException extends FabricException {
    private final String source;
    private final long offset;

    /** {@code offset} < 0 means "no particular offset". */
    public GgufFormatException(String source, String what, long offset) {
        this(source, what, offset, null);
    }

    public GgufFormatException(String source, String what, long offset, Throwable cause) {
        super(source + ": " + what + (offset >= 0 ? " (at byte offset " + offset + ")" : ""), EXIT_INPUT, cause);
        this.source = source;
        this.offset = offset;
    }

    public GgufFormatException(Path file, String what, long offset) {
        this(String.valueOf(file), what, offset, null);
    }

    /** The file (or other source) at fault. */
    public String source() {
        return source;
    }

    /** The byte offset of the fault, or -1. */
    public long offset() {
        return offset;
    }
}
