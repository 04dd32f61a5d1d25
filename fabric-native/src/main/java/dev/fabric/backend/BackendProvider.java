package dev.fabric.backend;

/**
 * A backend implementation made known to {@link Backends} through {@link java.util.ServiceLoader}: a class with a
 * public no-argument constructor, named in {@code META-INF/services/dev.fabric.backend.BackendProvider} of the jar
 * that holds it. The CPU backend registers itself this way; a second backend (Vulkan next) does the same and is
 * then selectable by name ({@code --backend NAME}, {@code FABRIC_BACKEND}) and covered by the op conformance tests
 * without any other change.
 */
public interface BackendProvider {
    /** The name users select it by ({@code cpu}, {@code vulkan}); lower case, no spaces. */
    String name();

    /** Whether this machine can run it (e.g. a device is present); unusable providers are listed but not opened. */
    default boolean usable() {
        return true;
    }

    /** A new backend running each op on {@code threads} host threads (0: all cores) where threads apply. */
    Backend open(int threads);
}
