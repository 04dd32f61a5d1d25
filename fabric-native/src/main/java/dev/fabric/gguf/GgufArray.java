package dev.fabric.gguf;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * An immutable GGUF metadata array: its element type and its elements, held as one primitive Java array
 * ({@code byte[]} for UINT8/INT8, {@code short[]} for UINT16/INT16, {@code int[]} for UINT32/INT32,
 * {@code long[]} for UINT64/INT64, {@code float[]}, {@code double[]}, {@code boolean[]}, {@code String[]}, or
 * {@code GgufArray[]} for nested arrays). Unsigned elements keep their bits in the signed Java type of the same
 * width, so a round trip writes them back unchanged. Accessors return copies.
 */
public final class GgufArray {
    private final GgufValueType elementType;
    private final Object values;
    private final int size;

    private GgufArray(GgufValueType elementType, Object values, boolean copy) {
        this.elementType = Objects.requireNonNull(elementType);
        Class<?> want = holderClass(elementType);
        if (values == null || values.getClass() != want)
            throw new IllegalArgumentException(elementType + " array must be held in a " + want.getSimpleName()
                    + ", got " + (values == null ? "null" : values.getClass().getSimpleName()));
        this.size = java.lang.reflect.Array.getLength(values);
        if (elementType == GgufValueType.STRING)
            for (String s : (String[]) values) Objects.requireNonNull(s, "null string in a STRING array");
        if (elementType == GgufValueType.ARRAY)
            for (GgufArray a : (GgufArray[]) values) Objects.requireNonNull(a, "null element in a nested array");
        this.values = copy ? copyOf(values) : values;
    }

    /** An array of {@code elementType} holding a copy of {@code values} (see the class comment for the holder type). */
    public static GgufArray of(GgufValueType elementType, Object values) {
        return new GgufArray(elementType, values, true);
    }

    /** Takes ownership of {@code values} without copying (the reader's freshly made arrays). */
    static GgufArray wrap(GgufValueType elementType, Object values) {
        return new GgufArray(elementType, values, false);
    }

    public static GgufArray ofStrings(List<String> values) {
        return new GgufArray(GgufValueType.STRING, values.toArray(new String[0]), false);
    }

    static Class<?> holderClass(GgufValueType t) {
        return switch (t) {
            case UINT8, INT8 -> byte[].class;
            case UINT16, INT16 -> short[].class;
            case UINT32, INT32 -> int[].class;
            case UINT64, INT64 -> long[].class;
            case FLOAT32 -> float[].class;
            case FLOAT64 -> double[].class;
            case BOOL -> boolean[].class;
            case STRING -> String[].class;
            case ARRAY -> GgufArray[].class;
        };
    }

    private static Object copyOf(Object a) {
        return switch (a) {
            case byte[] x -> x.clone();
            case short[] x -> x.clone();
            case int[] x -> x.clone();
            case long[] x -> x.clone();
            case float[] x -> x.clone();
            case double[] x -> x.clone();
            case boolean[] x -> x.clone();
            case String[] x -> x.clone();
            case GgufArray[] x -> x.clone();
            default -> throw new IllegalArgumentException("not an array holder: " + a.getClass());
        };
    }

    public GgufValueType elementType() {
        return elementType;
    }

    public int size() {
        return size;
    }

    /** A copy of the elements in their holder type. */
    public Object values() {
        return copyOf(values);
    }

    /** The holder itself, for the writer and the typed getters: callers must not modify it. */
    Object raw() {
        return values;
    }

    /** Element {@code i} as a long, for any integer element type (UINT64 above Long.MAX_VALUE throws). */
    public long getLong(int i) {
        Objects.checkIndex(i, size);
        return switch (elementType) {
            case UINT8 -> ((byte[]) values)[i] & 0xFFL;
            case INT8 -> ((byte[]) values)[i];
            case UINT16 -> ((short[]) values)[i] & 0xFFFFL;
            case INT16 -> ((short[]) values)[i];
            case UINT32 -> ((int[]) values)[i] & 0xFFFF_FFFFL;
            case INT32 -> ((int[]) values)[i];
            case INT64 -> ((long[]) values)[i];
            case UINT64 -> {
                long v = ((long[]) values)[i];
                if (v < 0) throw new ArithmeticException("UINT64 element " + Long.toUnsignedString(v) + " exceeds a long");
                yield v;
            }
            default -> throw new IllegalStateException("not an integer array: " + elementType);
        };
    }

    /** Element {@code i} as a double, for any numeric element type. */
    public double getDouble(int i) {
        Objects.checkIndex(i, size);
        return switch (elementType) {
            case FLOAT32 -> ((float[]) values)[i];
            case FLOAT64 -> ((double[]) values)[i];
            case UINT64 -> unsignedToDouble(((long[]) values)[i]);
            default -> getLong(i);
        };
    }

    /** The value of a uint64 held in a long's bits, as a double. */
    static double unsignedToDouble(long v) {
        return v >= 0 ? v : Math.scalb((double) (v >>> 1), 1) + (v & 1);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GgufArray a && a.elementType == elementType
                && Arrays.deepEquals(new Object[] {values}, new Object[] {a.values});
    }

    @Override
    public int hashCode() {
        return elementType.hashCode() * 31 + Arrays.deepHashCode(new Object[] {values});
    }

    @Override
    public String toString() {
        StringBuilder b = new StringBuilder(elementType.name()).append('[').append(size).append("]{");
        int n = Math.min(size, 8);
        for (int i = 0; i < n; i++) {
            if (i > 0) b.append(", ");
            Object e = java.lang.reflect.Array.get(values, i);
            b.append(e instanceof String s ? '"' + s + '"' : String.valueOf(e));
        }
        if (size > n) b.append(", …");
        return b.append('}').toString();
    }
}
