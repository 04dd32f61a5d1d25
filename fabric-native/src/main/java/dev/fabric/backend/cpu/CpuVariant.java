package dev.fabric.backend.cpu;

import dev.fabric.FabricException;
import dev.fabric.quant.Quantizer;
import java.util.Locale;

/**
 * The process-wide kernel variant: every CPU kernel of this process (ops, dense and K-quant matmuls, attention,
 * the quantizers and dequantizers, {@link CpuKernels#auto()}) runs at most this instruction set. Set by the
 * environment variable {@value #ENV} (read when the native libraries load; the system property {@value #PROPERTY}
 * takes precedence) or by {@code fabric --cpu-variant}. Values: {@code generic} (portable C++), {@code avx2}
 * (AVX2+FMA+F16C), {@code avx512}, {@code neon}, {@code native} (the best this CPU runs, the default).
 *
 * <p>A variant is a ceiling, never a promise: asking for more than this CPU has is an error (exit code 2), not a
 * silent fallback, so a run that says it used AVX2 did. Tests force a variant to check the parity bounds of the
 * arithmetic each variant really performs (the build's second surefire execution runs them under avx2).
 */
public final class CpuVariant {
    public static final String ENV = "FABRIC_CPU_VARIANT";
    public static final String PROPERTY = "fabric.cpu.variant";

    /** Levels, in the order of the native variants (fabric_ops.h: 0 generic, 1 AVX2 or NEON, 2 AVX-512). */
    private static final int GENERIC = 0, SIMD = 1, AVX512 = 2;

    private static volatile int level = -1;  // -1: not yet decided
    private static volatile String name = "native";
    private static volatile FabricException pending;  // an unusable FABRIC_CPU_VARIANT, reported by check()

    private CpuVariant() {}

    /** The level the native libraries should use, deciding it from the environment on the first call. */
    static synchronized int level() {
        if (level < 0) {
            String v = System.getProperty(PROPERTY);
            String source = "-D" + PROPERTY;
            if (v == null || v.isBlank()) {
                v = System.getenv(ENV);
                source = ENV;
            }
            level = cpuLevel();
            if (v != null && !v.isBlank()) {
                try {
                    level = parse(v, source);
                    name = v.trim().toLowerCase(Locale.ROOT);
                } catch (FabricException e) {
                    pending = e;  // run at the CPU's best; check() (the CLI, CpuBackend) reports it
                }
            }
        }
        return level;
    }

    /** Throws the error of an unusable {@value #ENV} value, if any. */
    public static void check() {
        level();
        FabricException e = pending;
        if (e != null) throw e;
    }

    /**
     * Caps every CPU kernel of this process at {@code variant} (a name as above); {@code source} names where it came
     * from in messages. Throws {@link FabricException} (usage) for an unknown name or one this CPU cannot run.
     */
    public static synchronized void force(String variant, String source) {
        int l = parse(variant, source);
        level();
        pending = null;
        level = l;
        name = variant.trim().toLowerCase(Locale.ROOT);
        apply();
    }

    /** The name asked for ("native" when nothing was). */
    public static String requested() {
        level();
        return name;
    }

    /** The FABRIC_ISA_* bits (CpuFeatures) the kernels may use: this CPU's, less what the level excludes. */
    public static int isaBits() {
        int bits = CpuNative.fabric_cpu_features(), l = level();
        if (l < AVX512) bits &= ~(CpuFeatures.AVX512 | CpuFeatures.AVX512_BF16 | CpuFeatures.AVX512_VNNI);
        if (l < SIMD) bits &= ~(CpuFeatures.AVX2 | CpuFeatures.NEON);
        return bits;
    }

    /** Whether a {@link CpuKernels} variant is within the level. */
    static boolean allows(CpuKernels.Variant v) {
        return switch (v) {
            case GENERIC -> true;
            case AVX2, NEON -> level() >= SIMD;
            case AVX512 -> level() >= AVX512;
        };
    }

    /** The CpuKernels variant ordinal (fabric_cpu.h numbering) at this level, given the CPU's best. */
    static int kernelsVariant(int nativeBest) {
        CpuKernels.Variant v = CpuKernels.Variant.values()[nativeBest];
        if (allows(v)) return nativeBest;
        return v == CpuKernels.Variant.AVX512 && allows(CpuKernels.Variant.AVX2) ? CpuKernels.Variant.AVX2.ordinal()
                : CpuKernels.Variant.GENERIC.ordinal();
    }

    /** Pushes the level into the native libraries that are loaded (each keeps its own copy). */
    private static void apply() {
        OpsNative.fabric_ops_set_variant_ceiling(level);
        Quantizer.useInstructionSets(isaBits());
    }

    private static int cpuLevel() {
        CpuFeatures f = CpuFeatures.detect();
        if (f.has(CpuFeatures.AVX512) && f.has(CpuFeatures.AVX2)) return AVX512;
        if (f.has(CpuFeatures.AVX2) || f.has(CpuFeatures.NEON)) return SIMD;
        return GENERIC;
    }

    private static int parse(String v, String source) {
        CpuFeatures f = CpuFeatures.detect();
        String s = v.trim().toLowerCase(Locale.ROOT);
        int want = switch (s) {
            case "generic" -> GENERIC;
            case "avx2" -> f.has(CpuFeatures.NEON) ? -2 : SIMD;
            case "neon" -> f.has(CpuFeatures.NEON) ? SIMD : -2;
            case "avx512" -> f.has(CpuFeatures.NEON) ? -2 : AVX512;
            case "native" -> cpuLevel();
            default -> throw new FabricException(source + "=" + v + ": unknown CPU kernel variant (expected generic, "
                    + "avx2, avx512, neon or native)", FabricException.EXIT_USAGE, null);
        };
        if (want == -2 || want > cpuLevel())
            throw new FabricException(source + "=" + v + ": this CPU cannot run it (it has " + f.describe()
                    + "; best variant " + f.bestVariant() + ")", FabricException.EXIT_USAGE, null);
        return want;
    }
}
