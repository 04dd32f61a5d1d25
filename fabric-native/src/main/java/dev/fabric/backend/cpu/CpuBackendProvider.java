package dev.fabric.backend.cpu;

import dev.fabric.backend.Backend;
import dev.fabric.backend.BackendProvider;

/** Registers {@link CpuBackend} as backend {@code cpu} (META-INF/services/dev.fabric.backend.BackendProvider). */
public final class CpuBackendProvider implements BackendProvider {
    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public Backend open(int threads) {
        return new CpuBackend(threads);
    }
}
