package dev.fabric.gguf;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * The key/value metadata of a GGUF file: immutable, in file (insertion) order, each value with its GGUF type. The
 * typed getters throw {@link GgufFormatException} naming the key and its source file when a key is missing or has
 * an unusable type or value. Build new metadata with {@link #builder()} or edit a copy with {@link #toBuilder()}.
 */
public final class GgufMetadata {
    private final Map<String, GgufValue> map;
    private final String source;

    private GgufMetadata(LinkedHashMap<String, GgufValue> map, String source) {
        this.map = Collections.unmodifiableMap(map);
        this.source = source;
    }

    static GgufMetadata of(LinkedHashMap<String, GgufValue> owned, String source) {
        return new GgufMetadata(owned, source);
    }

    public static Builder builder() {
        return new Builder(new LinkedHashMap<>());
    }

    public Builder toBuilder() {
        return new Builder(new LinkedHashMap<>(map));
    }

    /** The file these were read from (or "metadata" for built ones): used in error messages. */
    public String source() {
        return source;
    }

    public Set<String> keys() {
        return map.keySet();
    }

    public int size() {
        return map.size();
    }

    /** The key/value pairs in order (unmodifiable). */
    public Map<String, GgufValue> asMap() {
        return map;
    }

    public boolean has(String k) {
        return map.containsKey(k);
    }

    /** The value, or null if absent. */
    public GgufValue get(String k) {
        return map.get(k);
    }

    private GgufValue require(String k) {
        GgufValue v = map.get(k);
        if (v == null) throw error("missing metadata key '" + k + "'");
        return v;
    }

    private GgufFormatException error(String what) {
        return new GgufFormatException(source, what, -1);
    }

    private GgufFormatException wrongType(String k, GgufValue v, String expected) {
        String got = v.type() == GgufValueType.ARRAY
                ? "ARRAY of " + ((GgufArray) v.value()).elementType()
                : v.type().name();
        return error("metadata key '" + k + "' is " + got + ", expected " + expected);
    }

    public String getString(String k) {
        GgufValue v = require(k);
        if (v.type() != GgufValueType.STRING) throw wrongType(k, v, "STRING");
        return (String) v.value();
    }

    public String getString(String k, String dflt) {
        return has(k) ? getString(k) : dflt;
    }

    /** Any integer type, as a long (a UINT64 above Long.MAX_VALUE is an error). */
    public long getLong(String k) {
        GgufValue v = require(k);
        if (!v.type().isInteger()) throw wrongType(k, v, "an integer");
        try {
            return v.asLong();
        } catch (ArithmeticException e) {
            throw error("metadata key '" + k + "' = " + v + " does not fit a signed 64-bit integer");
        }
    }

    public long getLong(String k, long dflt) {
        return has(k) ? getLong(k) : dflt;
    }

    /** Any integer type whose value fits an int. */
    public int getInt(String k) {
        long v = getLong(k);
        if (v != (int) v) throw error("metadata key '" + k + "' = " + v + " does not fit a 32-bit integer");
        return (int) v;
    }

    public int getInt(String k, int dflt) {
        return has(k) ? getInt(k) : dflt;
    }

    /** FLOAT32, FLOAT64 (rounded to float) or an integer type. */
    public float getFloat(String k) {
        GgufValue v = require(k);
        if (v.type() == GgufValueType.BOOL || v.type() == GgufValueType.STRING || v.type() == GgufValueType.ARRAY)
            throw wrongType(k, v, "a number");
        return (float) v.asDouble();
    }

    public float getFloat(String k, float dflt) {
        return has(k) ? getFloat(k) : dflt;
    }

    public boolean getBool(String k) {
        GgufValue v = require(k);
        if (v.type() != GgufValueType.BOOL) throw wrongType(k, v, "BOOL");
        return (Boolean) v.value();
    }

    public boolean getBool(String k, boolean dflt) {
        return has(k) ? getBool(k) : dflt;
    }

    /** The array value of {@code k} (any element type). */
    public GgufArray getArray(String k) {
        GgufValue v = require(k);
        if (v.type() != GgufValueType.ARRAY) throw wrongType(k, v, "ARRAY");
        return (GgufArray) v.value();
    }

    /** An ARRAY of STRING, unmodifiable. */
    public List<String> getStringArray(String k) {
        GgufArray a = getArray(k);
        if (a.elementType() != GgufValueType.STRING) throw wrongType(k, require(k), "ARRAY of STRING");
        return List.of((String[]) a.raw());
    }

    /** An ARRAY of FLOAT32 (or FLOAT64 or integers, converted), as a fresh float[]. */
    public float[] getFloatArray(String k) {
        GgufArray a = getArray(k);
        GgufValueType t = a.elementType();
        if (t == GgufValueType.FLOAT32) return ((float[]) a.raw()).clone();
        if (t != GgufValueType.FLOAT64 && !t.isInteger()) throw wrongType(k, require(k), "ARRAY of FLOAT32");
        float[] out = new float[a.size()];
        for (int i = 0; i < out.length; i++) out[i] = (float) a.getDouble(i);
        return out;
    }

    /** An ARRAY of any integer type whose elements all fit an int, as a fresh int[]. */
    public int[] getIntArray(String k) {
        GgufArray a = getArray(k);
        if (!a.elementType().isInteger()) throw wrongType(k, require(k), "ARRAY of an integer type");
        if (a.elementType() == GgufValueType.INT32) return ((int[]) a.raw()).clone();
        int[] out = new int[a.size()];
        for (int i = 0; i < out.length; i++) {
            long v;
            try {
                v = a.getLong(i);
            } catch (ArithmeticException e) {
                v = Long.MIN_VALUE;
            }
            if (v != (int) v)
                throw error("metadata key '" + k + "' element " + i + " does not fit a 32-bit integer");
            out[i] = (int) v;
        }
        return out;
    }

    @Override
    public boolean equals(Object o) {
        // order matters in GGUF, so compare as ordered lists of entries
        return o instanceof GgufMetadata m && List.copyOf(map.entrySet()).equals(List.copyOf(m.map.entrySet()));
    }

    @Override
    public int hashCode() {
        return map.hashCode();
    }

    @Override
    public String toString() {
        return "GgufMetadata" + map;
    }

    /**
     * Builds metadata in insertion order. {@link #put} follows gguf's {@code gguf_set_val_*}: a key that is already
     * present is removed and the new value appended at the end (which is where llama-quantize's
     * {@code general.file_type} ends up); {@link #replace} keeps the key's place instead.
     */
    public static final class Builder {
        private final LinkedHashMap<String, GgufValue> map;
        private String source = "metadata";

        private Builder(LinkedHashMap<String, GgufValue> map) {
            this.map = map;
        }

        /** Removes {@code key} if present, then appends it with {@code value}. */
        public Builder put(String key, GgufValue value) {
            Objects.requireNonNull(key, "key");
            Objects.requireNonNull(value, "value");
            map.remove(key);
            map.put(key, value);
            return this;
        }

        /** Sets {@code key} in its current place, or appends it if absent. */
        public Builder replace(String key, GgufValue value) {
            Objects.requireNonNull(key, "key");
            map.put(key, Objects.requireNonNull(value, "value"));
            return this;
        }

        public Builder remove(String key) {
            map.remove(key);
            return this;
        }

        public boolean has(String key) {
            return map.containsKey(key);
        }

        public Builder source(String source) {
            this.source = Objects.requireNonNull(source);
            return this;
        }

        public Builder putString(String k, String v) {
            return put(k, GgufValue.string(v));
        }

        public Builder putU8(String k, int v) {
            return put(k, GgufValue.u8(v));
        }

        public Builder putI8(String k, int v) {
            return put(k, GgufValue.i8(v));
        }

        public Builder putU16(String k, int v) {
            return put(k, GgufValue.u16(v));
        }

        public Builder putI16(String k, int v) {
            return put(k, GgufValue.i16(v));
        }

        public Builder putU32(String k, long v) {
            return put(k, GgufValue.u32(v));
        }

        public Builder putI32(String k, int v) {
            return put(k, GgufValue.i32(v));
        }

        public Builder putU64(String k, long bits) {
            return put(k, GgufValue.u64(bits));
        }

        public Builder putI64(String k, long v) {
            return put(k, GgufValue.i64(v));
        }

        public Builder putF32(String k, float v) {
            return put(k, GgufValue.f32(v));
        }

        public Builder putF64(String k, double v) {
            return put(k, GgufValue.f64(v));
        }

        public Builder putBool(String k, boolean v) {
            return put(k, GgufValue.bool(v));
        }

        public Builder putArray(String k, GgufArray v) {
            return put(k, GgufValue.array(v));
        }

        public Builder putStringArray(String k, List<String> v) {
            return putArray(k, GgufArray.ofStrings(v));
        }

        public Builder putF32Array(String k, float[] v) {
            return putArray(k, GgufArray.of(GgufValueType.FLOAT32, v));
        }

        public Builder putI32Array(String k, int[] v) {
            return putArray(k, GgufArray.of(GgufValueType.INT32, v));
        }

        public GgufMetadata build() {
            return new GgufMetadata(new LinkedHashMap<>(map), source);
        }
    }
}
