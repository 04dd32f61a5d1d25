package dev.fabric.testing;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The reference vectors made with llama.cpp's tools, read in place from {@code ../shared/ref/} (never copied
 * into the project). Tests that need them are skipped, saying so, where the folder is absent.
 */
public final class SharedRef {
    private SharedRef() {}

    /** The ref folder: system property {@code fabric.shared.ref} (set by the build), else {@code ../shared/ref} upward. */
    public static Path dir() {
        String prop = System.getProperty("fabric.shared.ref");
        if (prop != null && Files.isDirectory(Path.of(prop))) return Path.of(prop).toAbsolutePath().normalize();
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            Path c = p.resolve("../shared/ref").normalize();
            if (Files.isDirectory(c)) return c;
        }
        return null;
    }

    /** A file under the ref folder; skips the calling test (with the reason) where it is absent. */
    public static Path require(String relative) {
        Path d = dir();
        assumeTrue(d != null, "skipped: ../shared/ref/ is absent, so the llama.cpp reference vectors cannot be read");
        Path f = d.resolve(relative);
        assumeTrue(Files.exists(f), "skipped: reference file " + f + " is absent");
        return f;
    }
}
