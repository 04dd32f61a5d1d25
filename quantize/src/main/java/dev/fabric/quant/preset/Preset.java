package dev.fabric.quant.preset;

import dev.fabric.FabricException;
import dev.fabric.gguf.GgmlType;
import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * A quantization preset as llama-quantize names it (its TYPE argument), with the {@code general.file_type}
 * ({@code enum llama_ftype}, include/llama.h) it writes and the default tensor type its mixture starts from
 * (spec section 4). {@link #COPY} keeps every tensor as it is.
 */
public enum Preset {
    F32(0, GgmlType.F32),
    F16(1, GgmlType.F16),
    BF16(32, GgmlType.BF16),
    Q4_0(2, GgmlType.Q4_0),
    Q4_1(3, GgmlType.Q4_1),
    Q5_0(8, GgmlType.Q5_0),
    Q5_1(9, GgmlType.Q5_1),
    Q8_0(7, GgmlType.Q8_0),
    Q2_K(10, GgmlType.Q2_K),
    Q3_K_S(11, GgmlType.Q3_K),
    Q3_K_M(12, GgmlType.Q3_K),
    Q3_K_L(13, GgmlType.Q3_K),
    Q4_K_S(14, GgmlType.Q4_K),
    Q4_K_M(15, GgmlType.Q4_K),
    Q5_K_S(16, GgmlType.Q5_K),
    Q5_K_M(17, GgmlType.Q5_K),
    Q6_K(18, GgmlType.Q6_K),
    IQ4_NL(25, GgmlType.IQ4_NL),
    IQ4_XS(30, GgmlType.IQ4_XS),
    /** Copies tensors unchanged; the file type is taken from the input (llama-quantize's "COPY"). */
    COPY(-1, null);

    private final int fileType;
    private final GgmlType defaultType;

    Preset(int fileType, GgmlType defaultType) {
        this.fileType = fileType;
        this.defaultType = defaultType;
    }

    /** The {@code general.file_type} value written for this preset; -1 for COPY (taken from the input). */
    public int fileType() {
        return fileType;
    }

    /** The type every quantizable tensor starts from; null for COPY. */
    public GgmlType defaultType() {
        return defaultType;
    }

    /** True when the per-tensor mixture rules apply: the default type is a block-quantized one. */
    public boolean hasMixture() {
        return defaultType != null && defaultType.isQuantized();
    }

    /**
     * Parses TYPE as llama-quantize does: a preset name in any case, the aliases Q4_K, Q5_K and Q3_K (the _M
     * presets), or a {@code general.file_type} number.
     */
    public static Preset parse(String s) {
        String u = s.trim().toUpperCase(Locale.ROOT);
        switch (u) {
            case "Q4_K" -> { return Q4_K_M; }
            case "Q5_K" -> { return Q5_K_M; }
            case "Q3_K" -> { return Q3_K_M; }
            default -> { }
        }
        for (Preset p : values()) if (p.name().equals(u)) return p;
        try {
            int n = Integer.parseInt(u);
            for (Preset p : values()) if (p.fileType == n) return p;
        } catch (NumberFormatException ignored) {
            // not a number either
        }
        throw new FabricException("unknown quantization type '" + s + "'; expected one of " + names(),
                FabricException.EXIT_USAGE, null);
    }

    /** True if {@code s} names a preset (used to tell an omitted OUT argument from a file name). */
    public static boolean isPreset(String s) {
        try {
            parse(s);
            return true;
        } catch (FabricException e) {
            return false;
        }
    }

    public static String names() {
        return Arrays.stream(values()).map(Enum::name).collect(Collectors.joining(", "));
    }
}
