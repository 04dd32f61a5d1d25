package dev.fabric.cli;

import dev.fabric.backend.Backends;
import dev.fabric.backend.cpu.CpuFeatures;
import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;
import picocli.CommandLine;

/** {@code fabric --version}: the build, the JVM, and the CPU features the native kernels dispatch on. */
final class VersionInfo implements CommandLine.IVersionProvider {
    static String version() {
        Properties p = new Properties();
        try (InputStream in = VersionInfo.class.getResourceAsStream("/fabric-version.properties")) {
            if (in != null) p.load(in);
        } catch (IOException ignored) {
            // fall through to "unknown"
        }
        return p.getProperty("version", "unknown");
    }

    @Override
    public String[] getVersion() {
        CpuFeatures cpu = CpuFeatures.detect();
        return new String[] {
            "fabric " + version(),
            "java " + Runtime.version() + " (" + System.getProperty("java.vendor") + ")",
            "cpu features: " + cpu.describe(),
            "kernel variant: " + cpu.bestVariant(),
            "backends: " + String.join(", ", Backends.names()) + " (selected: " + Backends.configured() + ")",
        };
    }
}
