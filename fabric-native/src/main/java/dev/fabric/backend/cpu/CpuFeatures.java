package dev.fabric.backend.cpu;

import java.util.ArrayList;
import java.util.List;

/** The instruction sets of this CPU, as the native dispatcher sees them. */
public record CpuFeatures(int bits) {
    public static final int AVX2 = 1, AVX512 = 2, AVX512_BF16 = 4, AVX512_VNNI = 8, NEON = 16;

    public static CpuFeatures detect() {
        return new CpuFeatures(CpuNative.fabric_cpu_features());
    }

    public boolean has(int bit) {
        return (bits & bit) == bit;
    }

    public String describe() {
        List<String> s = new ArrayList<>();
        if (has(AVX2)) s.add("AVX2+FMA+F16C");
        if (has(AVX512)) s.add("AVX-512");
        if (has(AVX512_BF16)) s.add("AVX512-BF16");
        if (has(AVX512_VNNI)) s.add("AVX512-VNNI");
        if (has(NEON)) s.add("NEON");
        return s.isEmpty() ? "none beyond the baseline" : String.join(" ", s);
    }

    /** The CPU's model name (Linux: /proc/cpuinfo "model name"), else the architecture, for benchmark reports. */
    public static String cpuName() {
        try (var lines = java.nio.file.Files.lines(java.nio.file.Path.of("/proc/cpuinfo"))) {
            return lines.filter(l -> l.startsWith("model name") && l.contains(":"))
                    .map(l -> l.substring(l.indexOf(':') + 1).trim()).findFirst()
                    .orElse(System.getProperty("os.arch"));
        } catch (java.io.IOException | java.io.UncheckedIOException e) {
            return System.getProperty("os.arch");
        }
    }

    /** The kernel variant the native dispatcher picks for this CPU. */
    public String bestVariant() {
        if (has(AVX512)) return "avx512";
        if (has(AVX2)) return "avx2";
        if (has(NEON)) return "neon";
        return "generic";
    }
}
