package dev.fabric.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fabric.FabricException;
import org.junit.jupiter.api.Test;

/** The backend registry: the CPU backend registers itself, names select, an unknown name is a usage error. */
class BackendsTest {
    @Test
    void cpuIsRegistered_andOpensByName() {
        assertTrue(Backends.names().contains("cpu"), Backends.names().toString());
        try (Backend b = Backends.open("CPU", 1)) {
            assertTrue(b.name().startsWith("cpu("), b.name());
        }
    }

    @Test
    void configuredName_comesFromThePropertyFirst() {
        String keep = System.getProperty(Backends.PROPERTY);
        try {
            System.setProperty(Backends.PROPERTY, "cpu");
            assertEquals("cpu", Backends.configured());
            try (Backend b = Backends.open(null, 1)) {
                assertTrue(b.name().startsWith("cpu("));
            }
        } finally {
            if (keep == null) System.clearProperty(Backends.PROPERTY);
            else System.setProperty(Backends.PROPERTY, keep);
        }
    }

    @Test
    void unknownName_isAUsageErrorListingTheRegisteredOnes() {
        FabricException e = assertThrows(FabricException.class, () -> Backends.open("nosuch", 1));
        assertEquals(FabricException.EXIT_USAGE, e.exitCode());
        assertTrue(e.getMessage().contains("nosuch") && e.getMessage().contains("cpu"), e.getMessage());
    }

    @Test
    void views_areMadeByTheBackend_andBoundsChecked() {
        try (Backend b = Backends.open("cpu", 1); Tensor t = b.allocate(DType.F32, 4, 3)) {
            b.write(t, new float[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
            try (Tensor s = t.slice(1, 3)) {
                assertEquals(java.util.List.of(3f, 4f, 5f, 6f, 7f, 8f), boxed(b.readFloats(s)));
                assertEquals(6, b.hostBytes(s).asFloatBuffer().capacity());
            }
            assertEquals(12, b.readFloats(t.reshape(2, 6)).length);
            assertThrows(IndexOutOfBoundsException.class, () -> b.view(t, 4 * 10, 3));
            assertThrows(IllegalArgumentException.class, () -> t.reshape(5, 3));
        }
    }

    private static java.util.List<Float> boxed(float[] f) {
        java.util.List<Float> l = new java.util.ArrayList<>();
        for (float x : f) l.add(x);
        return l;
    }
}
