package dev.fabric.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** Points of the Hugging Face warmup schedules (exact values; tolerance 1e-15 for the cosine's rounding). */
class LrScheduleTest {
    @Test
    void warmupIsLinearFromZero() {
        for (LrSchedule.Kind k : LrSchedule.Kind.values()) {
            LrSchedule s = new LrSchedule(k, 2e-4, 10, 110);
            assertEquals(0.0, s.lr(0));                // the first update runs at lr 0, as a LambdaLR does
            assertEquals(1e-4, s.lr(5), 1e-19);
            assertEquals(2e-4, s.lr(10), 1e-19);
        }
    }

    @Test
    void decays() {
        LrSchedule lin = new LrSchedule(LrSchedule.Kind.LINEAR, 1.0, 10, 110);
        assertEquals(0.5, lin.factor(60), 1e-15);
        assertEquals(0.0, lin.factor(110));
        assertEquals(0.0, lin.factor(200));           // clamped, never negative
        LrSchedule cos = new LrSchedule(LrSchedule.Kind.COSINE, 1.0, 10, 110);
        assertEquals(0.5, cos.factor(60), 1e-15);      // half-way: cos(π/2) = 0
        assertEquals(0.5 * (1 + Math.cos(Math.PI * 0.25)), cos.factor(35), 1e-15);
        assertEquals(0.0, cos.factor(110), 1e-15);
        LrSchedule con = new LrSchedule(LrSchedule.Kind.CONSTANT, 3.0, 0, 5);
        assertEquals(3.0, con.lr(0));
        assertEquals(3.0, con.lr(99));
    }

    @Test
    void noWarmup() {
        LrSchedule lin = new LrSchedule(LrSchedule.Kind.LINEAR, 1.0, 0, 4);
        assertEquals(1.0, lin.factor(0));
        assertEquals(0.75, lin.factor(1));
    }
}
