package dev.fabric.backend;

import dev.fabric.FabricException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.ServiceLoader;

/**
 * The registry of backends: every {@link BackendProvider} on the class path, chosen by name. The name comes from
 * the caller (a {@code --backend} option), else the system property {@value #PROPERTY}, else the environment
 * variable {@value #ENV}, else {@value #DEFAULT}.
 */
public final class Backends {
    public static final String ENV = "FABRIC_BACKEND";
    public static final String PROPERTY = "fabric.backend";
    public static final String DEFAULT = "cpu";

    private Backends() {}

    /** Every registered provider, by name. */
    public static List<BackendProvider> providers() {
        List<BackendProvider> out = new ArrayList<>();
        for (BackendProvider p : ServiceLoader.load(BackendProvider.class, Backends.class.getClassLoader())) out.add(p);
        out.sort(Comparator.comparing(BackendProvider::name));
        return out;
    }

    /** The names of the registered providers. */
    public static List<String> names() {
        return providers().stream().map(BackendProvider::name).toList();
    }

    /** The backend name configured for this process: {@value #PROPERTY}, else {@value #ENV}, else {@value #DEFAULT}. */
    public static String configured() {
        String p = System.getProperty(PROPERTY);
        if (p != null && !p.isBlank()) return p.trim();
        String e = System.getenv(ENV);
        if (e != null && !e.isBlank()) return e.trim();
        return DEFAULT;
    }

    /** The provider called {@code name}; a usage error naming the registered ones if there is none. */
    public static BackendProvider provider(String name) {
        String want = name.trim().toLowerCase(Locale.ROOT);
        List<BackendProvider> all = providers();
        for (BackendProvider p : all) {
            if (!p.name().equals(want)) continue;
            if (!p.usable())
                throw new FabricException("backend '" + want + "' cannot run on this machine", FabricException.EXIT_USAGE,
                        null);
            return p;
        }
        throw new FabricException("unknown backend '" + name + "' (registered: "
                + String.join(", ", all.stream().map(BackendProvider::name).toList()) + ")", FabricException.EXIT_USAGE,
                null);
    }

    /** Opens backend {@code name} (null or blank: {@link #configured()}) with {@code threads} threads per op. */
    public static Backend open(String name, int threads) {
        return provider(name == null || name.isBlank() ? configured() : name).open(threads);
    }

    /** Opens the configured backend ({@link #configured()}). */
    public static Backend open(int threads) {
        return open(null, threads);
    }
}
