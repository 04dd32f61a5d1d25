package dev.fabric.cli;

import dev.fabric.FabricException;
import dev.fabric.io.TextInput;
import picocli.CommandLine.Option;

/** The size limit on a command's text input (see {@link TextInput}): an option, so a genuine large input can pass. */
final class InputLimit {
    @Option(names = Engine.MAX_INPUT_OPTION, paramLabel = "N", defaultValue = "64",
            description = "Refuse a text input larger than N MiB (default: ${DEFAULT-VALUE}); with --chunks only what the "
                    + "chunks need is read.")
    int maxInputMib;

    long bytes() {
        if (maxInputMib < 1 || maxInputMib > (TextInput.MAX_BYTES >> 20))
            throw new FabricException(Engine.MAX_INPUT_OPTION + " must be 1.." + (TextInput.MAX_BYTES >> 20) + ", got "
                    + maxInputMib, FabricException.EXIT_USAGE, null);
        return (long) maxInputMib << 20;
    }
}
