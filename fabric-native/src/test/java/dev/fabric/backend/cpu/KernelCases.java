package dev.fabric.backend.cpu;

import dev.fabric.backend.cpu.CpuKernels.Variant;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.provider.Arguments;

/** Parameter sources shared by the kernel tests: every variant this CPU runs, times the awkward sizes. */
final class KernelCases {
    private KernelCases() {}

    /** Around every vector width (4, 8, 16 lanes; 16, 32, 64-element unrolls) plus a large odd size. */
    static final int[] SIZES = {0, 1, 7, 15, 16, 17, 31, 33, 63, 64, 65, 1000, 4097};

    /** Element offsets of the row inside its allocation: aligned, and two misalignments. */
    static final int[] OFFSETS = {0, 1, 3};

    static Stream<Variant> variants() {
        CpuNative.load();
        List<Variant> v = CpuKernels.available();
        return v.stream();
    }

    static Stream<Arguments> variantsAndSizes() {
        return variants().flatMap(v -> java.util.Arrays.stream(SIZES).mapToObj(n -> Arguments.of(v, n)));
    }
}
