package dev.fabric.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fabric.FabricException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckpointsTest {
    @TempDir
    Path dir;

    private static Trainer<SoftmaxRegression.Batch> fresh(List<SoftmaxRegression.Example> data) {
        // dropout (randomness from the trainer's generator), a skipped step (index 9) and uneven micro-batches
        SoftmaxRegression m = new SoftmaxRegression(3, 4, 0.2);
        ListSource src = new ListSource(data, new int[] {2, 3, 5}, 9, i -> i == 9);
        return new Trainer<>(m, src, TrainerTest.config(30, 2, 0.5, 3));
    }

    private static int[] bits(Trainer<?> t) {
        float[] f = TrainerTest.snapshot(t.model().params());
        int[] b = new int[f.length + 2 * f.length];
        int k = 0;
        for (float x : f) b[k++] = Float.floatToRawIntBits(x);
        TrainableParams p = t.model().params();
        for (int i = 0; i < p.size(); i++)
            for (int j = 0; j < p.numel(i); j++) {
                b[k++] = Float.floatToRawIntBits(t.optimizer().m(i).get(j));
                b[k++] = Float.floatToRawIntBits(t.optimizer().v(i).get(j));
            }
        return b;
    }

    /** N updates straight == k updates, checkpoint, fresh objects, restore, N − k updates: identical bits. */
    @Test
    void resumeContinuesBitForBit() throws Exception {
        List<SoftmaxRegression.Example> data = ListSource.clusters(3, 4, 17, 5);
        Trainer<SoftmaxRegression.Batch> straight = fresh(data);
        straight.run(null);

        Trainer<SoftmaxRegression.Batch> first = fresh(data);
        while (first.updates() < 12) first.step();
        Checkpoints cp = new Checkpoints(dir, 2, "recipe-abc");
        Path saved = cp.save(first, d -> Files.writeString(d.resolve("extra.txt"), "x"));
        assertEquals(dir.resolve("checkpoint-12"), saved);
        assertTrue(Files.exists(saved.resolve("extra.txt")));

        Trainer<SoftmaxRegression.Batch> resumed = fresh(data);
        cp.restore(Checkpoints.latest(dir), resumed);
        assertEquals(12, resumed.updates());
        assertEquals(first.steps(), resumed.steps());
        assertEquals(1, resumed.skipped());
        resumed.run(null);
        assertArrayEquals(bits(straight), bits(resumed));
        assertEquals(straight.steps(), resumed.steps());
    }

    @Test
    void keepsTheLastKAndLeavesNoTemporaries() throws Exception {
        List<SoftmaxRegression.Example> data = ListSource.clusters(3, 4, 17, 5);
        Trainer<SoftmaxRegression.Batch> t = fresh(data);
        Checkpoints cp = new Checkpoints(dir, 2, "h");
        Files.createDirectories(dir.resolve(".checkpoint-7.12345").resolve("half"));   // a crashed save's temporary
        for (int i = 0; i < 4; i++) {
            t.step();
            cp.save(t, null);
        }
        cp.save(t, null);   // the same update again replaces it
        assertEquals(List.of(dir.resolve("checkpoint-3"), dir.resolve("checkpoint-4")), Checkpoints.list(dir));
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(2, s.count());
        }
        try (Stream<Path> s = Files.list(dir.resolve("checkpoint-4"))) {
            assertEquals(List.of(Checkpoints.OPTIMIZER, Checkpoints.PARAMS, Checkpoints.STATE),
                    s.map(p -> p.getFileName().toString()).sorted().toList());
        }
    }

    @Test
    void refusesAnotherRecipe() throws Exception {
        List<SoftmaxRegression.Example> data = ListSource.clusters(3, 4, 17, 5);
        Trainer<SoftmaxRegression.Batch> t = fresh(data);
        t.step();
        Path p = new Checkpoints(dir, 1, "one").save(t, null);
        FabricException e = assertThrows(FabricException.class, () -> new Checkpoints(dir, 1, "two").restore(p, fresh(data)));
        assertTrue(e.getMessage().contains("recipe_hash"), e.getMessage());
    }
}
