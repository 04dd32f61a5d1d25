package dev.fabric.gguf;

import java.util.Objects;

/**
 * One typed GGUF metadata value. The Java holder of {@code value} is fixed by the type: Byte for UINT8/INT8, Short
 * for UINT16/INT16, Integer for UINT32/INT32, Long for UINT64/INT64, Float, Double, Boolean, String, and
 * {@link GgufArray} for ARRAY. Unsigned values keep their bits in the signed holder of the same width (so the
 * type, not the holder, says how to read them); use {@link #asLong()} for the numeric value.
 */
public record GgufValue(GgufValueType type, Object value) {
    public GgufValue {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(value, "value");
        Class<?> want = switch (type) {
            case UINT8, INT8 -> Byte.class;
            case UINT16, INT16 -> Short.class;
            case UINT32, INT32 -> Integer.class;
            case UINT64, INT64 -> Long.class;
            case FLOAT32 -> Float.class;
            case FLOAT64 -> Double.class;
            case BOOL -> Boolean.class;
            case STRING -> String.class;
            case ARRAY -> GgufArray.class;
        };
        if (value.getClass() != want)
            throw new IllegalArgumentException(type + " value must be a " + want.getSimpleName() + ", got "
                    + value.getClass().getSimpleName());
    }

    public static GgufValue u8(int v) {
        return new GgufValue(GgufValueType.UINT8, (byte) checkRange(v, 0, 0xFF, "UINT8"));
    }

    public static GgufValue i8(int v) {
        return new GgufValue(GgufValueType.INT8, (byte) checkRange(v, Byte.MIN_VALUE, Byte.MAX_VALUE, "INT8"));
    }

    public static GgufValue u16(int v) {
        return new GgufValue(GgufValueType.UINT16, (short) checkRange(v, 0, 0xFFFF, "UINT16"));
    }

    public static GgufValue i16(int v) {
        return new GgufValue(GgufValueType.INT16, (short) checkRange(v, Short.MIN_VALUE, Short.MAX_VALUE, "INT16"));
    }

    public static GgufValue u32(long v) {
        return new GgufValue(GgufValueType.UINT32, (int) checkRange(v, 0, 0xFFFF_FFFFL, "UINT32"));
    }

    public static GgufValue i32(int v) {
        return new GgufValue(GgufValueType.INT32, v);
    }

    /** A UINT64 from its 64 bits (values above Long.MAX_VALUE are negative longs). */
    public static GgufValue u64(long bits) {
        return new GgufValue(GgufValueType.UINT64, bits);
    }

    public static GgufValue i64(long v) {
        return new GgufValue(GgufValueType.INT64, v);
    }

    public static GgufValue f32(float v) {
        return new GgufValue(GgufValueType.FLOAT32, v);
    }

    public static GgufValue f64(double v) {
        return new GgufValue(GgufValueType.FLOAT64, v);
    }

    public static GgufValue bool(boolean v) {
        return new GgufValue(GgufValueType.BOOL, v);
    }

    public static GgufValue string(String v) {
        return new GgufValue(GgufValueType.STRING, v);
    }

    public static GgufValue array(GgufArray v) {
        return new GgufValue(GgufValueType.ARRAY, v);
    }

    private static long checkRange(long v, long lo, long hi, String what) {
        if (v < lo || v > hi) throw new IllegalArgumentException(v + " is out of range for " + what);
        return v;
    }

    /** The numeric value of an integer type; {@link ArithmeticException} for a UINT64 above Long.MAX_VALUE. */
    public long asLong() {
        return switch (type) {
            case UINT8 -> (Byte) value & 0xFFL;
            case INT8 -> (Byte) value;
            case UINT16 -> (Short) value & 0xFFFFL;
            case INT16 -> (Short) value;
            case UINT32 -> (Integer) value & 0xFFFF_FFFFL;
            case INT32 -> (Integer) value;
            case INT64 -> (Long) value;
            case UINT64 -> {
                long v = (Long) value;
                if (v < 0) throw new ArithmeticException("UINT64 " + Long.toUnsignedString(v) + " exceeds a long");
                yield v;
            }
            default -> throw new IllegalStateException(type + " is not an integer type");
        };
    }

    /** The value of any numeric type as a double. */
    public double asDouble() {
        return switch (type) {
            case FLOAT32 -> (Float) value;
            case FLOAT64 -> (Double) value;
            case UINT64 -> GgufArray.unsignedToDouble((Long) value);
            default -> asLong();
        };
    }

    @Override
    public String toString() {
        return switch (type) {
            case STRING -> type + ":\"" + value + '"';
            case UINT64 -> type + ":" + Long.toUnsignedString((Long) value);
            case ARRAY -> value.toString();
            default -> type + ":" + (type.isInteger() ? Long.toString(asLong()) : value.toString());
        };
    }
}
