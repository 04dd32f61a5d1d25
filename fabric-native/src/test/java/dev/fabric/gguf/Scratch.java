package dev.fabric.gguf;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * A scratch folder in memory (/dev/shm) where there is one, else under the given fallback: tests that write
 * thousands of small files run far faster there than on a disk mounted with {@code discard}.
 */
final class Scratch implements AutoCloseable {
    private final Path dir;
    private final boolean own;

    Scratch(Path fallback) {
        Path shm = Path.of("/dev/shm");
        Path d = null;
        if (Files.isDirectory(shm) && Files.isWritable(shm)) {
            try {
                d = Files.createTempDirectory(shm, "fabric-gguf-test");
            } catch (IOException ignored) {
                d = null;
            }
        }
        own = d != null;
        dir = own ? d : fallback;
    }

    Path dir() {
        return dir;
    }

    @Override
    public void close() {
        if (!own) return;
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
