package dev.fabric.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** {@code fabric bench tune}: a training step on a 1-layer Qwen3-0.6B shape prints its figures; bad usage exits 2. */
class BenchTuneCommandTest {
    @Test
    void synthInMemory_printsTrainingFigures() {
        Run b = Run.of("bench", "tune", "--synth", "qwen3-0.6b", "--layers", "1", "--ctx", "8", "--steps", "1",
                "--rank", "4", "-t", "2");
        assertEquals(0, b.rc(), b.err());
        for (String s : new String[] {"kernel variant", "train:", "FLOPs per token", "memory plan:", "peak RSS"})
            assertTrue(b.out().contains(s), s + " missing from: " + b.out());
    }

    @Test
    void usageErrors_exit2() {
        assertEquals(2, Run.of("bench", "tune").rc());
        assertEquals(2, Run.of("bench", "tune", "--synth", "qwen3-0.6b", "--ctx", "1").rc());
    }
}
