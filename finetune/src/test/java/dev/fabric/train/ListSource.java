package dev.fabric.train;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntPredicate;

/**
 * A {@link BatchSource} over a fixed list of examples: each epoch a seeded shuffle, micro-batches of the given
 * sizes in turn (so they differ in length), and micro-batches whose running index {@code poison} selects come out
 * poisoned. Its state is (epoch, offset, micro-batch index).
 */
final class ListSource implements BatchSource<SoftmaxRegression.Batch> {
    private final List<SoftmaxRegression.Example> examples;
    private final int[] sizes;
    private final long seed;
    private final IntPredicate poison;
    private int[] order;
    private long epoch;
    private int offset;
    private int index;

    ListSource(List<SoftmaxRegression.Example> examples, int[] sizes, long seed, IntPredicate poison) {
        this.examples = examples;
        this.sizes = sizes;
        this.seed = seed;
        this.poison = poison;
        shuffle();
    }

    private void shuffle() {
        order = new int[examples.size()];
        for (int i = 0; i < order.length; i++) order[i] = i;
        Rng r = new Rng(seed + epoch);
        for (int i = order.length - 1; i > 0; i--) {
            int j = (int) Long.remainderUnsigned(r.nextLong(), i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
    }

    @Override
    public SoftmaxRegression.Batch next() {
        int n = sizes[index % sizes.length];
        List<SoftmaxRegression.Example> out = new ArrayList<>(n);
        for (int k = 0; k < n; k++) {
            if (offset == order.length) {
                epoch++;
                offset = 0;
                shuffle();
            }
            out.add(examples.get(order[offset++]));
        }
        return new SoftmaxRegression.Batch(out, poison.test(index++));
    }

    @Override
    public byte[] state() {
        return ByteBuffer.allocate(16).putLong(epoch).putInt(offset).putInt(index).array();
    }

    @Override
    public void restore(byte[] state) {
        ByteBuffer b = ByteBuffer.wrap(state);
        epoch = b.getLong();
        offset = b.getInt();
        index = b.getInt();
        shuffle();
    }

    /** C well-separated Gaussian clusters in D dimensions, n examples, from a seed. */
    static List<SoftmaxRegression.Example> clusters(int classes, int dims, int n, long seed) {
        Rng r = new Rng(seed);
        float[][] centres = new float[classes][dims];
        for (float[] c : centres) for (int d = 0; d < dims; d++) c[d] = (float) (4 * r.nextDouble() - 2);
        List<SoftmaxRegression.Example> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int y = i % classes;
            float[] x = new float[dims];
            for (int d = 0; d < dims; d++) x[d] = centres[y][d] + (float) (0.6 * (r.nextDouble() - 0.5));
            out.add(new SoftmaxRegression.Example(x, y));
        }
        return out;
    }
}
