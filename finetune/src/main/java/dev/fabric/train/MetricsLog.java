package dev.fabric.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import dev.fabric.FabricException;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Appends {@link StepRecord}s to a JSON-lines file (one object per line, snake_case keys), flushed after every
 * line so a crash loses at most the line being written. Appends, so a resumed run continues the same file.
 */
public final class MetricsLog implements AutoCloseable {
    private static final ObjectMapper JSON =
            new ObjectMapper().setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE);

    private final Path file;
    private final BufferedWriter out;

    public MetricsLog(Path file) throws IOException {
        this.file = file;
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        this.out = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                StandardOpenOption.APPEND);
    }

    public void write(StepRecord r) {
        try {
            out.write(JSON.writeValueAsString(r));
            out.write('\n');
            out.flush();
        } catch (IOException e) {
            throw new FabricException("cannot write " + file + ": " + e.getMessage(), FabricException.EXIT_IO, e);
        }
    }

    @Override
    public void close() throws IOException {
        out.close();
    }
}
