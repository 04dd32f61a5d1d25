package dev.fabric.backend.cpu;

import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.annotation.Platform;

/** JNI surface of {@code fabric_cpu.h}: one static method per C function, whole arrays per call. */
@Platform(include = {"fabric_cpu.h", "fabric_cpu.cpp"})
public final class CpuNative {
    static {
        Loader.load();
    }

    private CpuNative() {}

    /** Ensures the native library is loaded; call before allocating any JavaCPP pointer. */
    public static void load() {
        // the static initialiser does the work
    }

    public static native int fabric_cpu_features();
}
