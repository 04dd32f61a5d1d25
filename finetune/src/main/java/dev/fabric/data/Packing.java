package dev.fabric.data;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Examples into sequences of at most {@code context} tokens, and sequences into batches.
 *
 * <p>Without packing each example is one sequence. With packing, examples are placed in the epoch's order by
 * first fit: each goes into the first open sequence with room for it, else opens a new one. At most
 * {@value #OPEN} sequences are open at once (the oldest is closed when another must open), which keeps the
 * work linear in the number of examples; a sequence is closed when it is full. Sequences come out in the
 * order they were opened. Inside a sequence, each example
 * keeps exactly its own tokens and targets, its positions restart at 0 and it has its own segment id, so a
 * packed example is computed as it would be alone.
 */
public final class Packing {
    private Packing() {}

    /** Open sequences first fit considers. */
    public static final int OPEN = 64;

    /** A sequence: the examples in it, in order. */
    public record Sequence(List<Example> examples, int size) {}

    public static List<Sequence> sequences(List<Example> ordered, int context, boolean pack) {
        List<Sequence> done = new ArrayList<>();
        if (!pack) {
            for (Example e : ordered) done.add(new Sequence(List.of(e), e.size()));
            return done;
        }
        // Open sequences as [opening number, used tokens] with their examples; closed ones are kept in opening
        // order so the result does not depend on when a sequence filled up.
        List<List<Example>> open = new ArrayList<>();
        List<int[]> state = new ArrayList<>();
        java.util.TreeMap<Integer, Sequence> closed = new java.util.TreeMap<>();
        int opened = 0;
        for (Example e : ordered) {
            int k = 0;
            while (k < open.size() && state.get(k)[1] + e.size() > context) k++;
            if (k == open.size()) {
                if (open.size() == OPEN) {
                    closed.put(state.get(0)[0], new Sequence(List.copyOf(open.remove(0)), state.remove(0)[1]));
                    k--;
                }
                open.add(new ArrayList<>());
                state.add(new int[] {opened++, 0});
            }
            open.get(k).add(e);
            state.get(k)[1] += e.size();
            if (state.get(k)[1] == context) {
                closed.put(state.get(k)[0], new Sequence(List.copyOf(open.remove(k)), state.remove(k)[1]));
            }
        }
        for (int k = 0; k < open.size(); k++) closed.put(state.get(k)[0], new Sequence(List.copyOf(open.get(k)), state.get(k)[1]));
        done.addAll(closed.values());
        return done;
    }

    /**
     * Sequences into batches of {@code rows}; the last batch is completed with empty rows (all padding).
     *
     * @param pad the token id written at padding positions (its target is -1, so its value does not matter)
     */
    public static List<Batch> batches(List<Sequence> seqs, int rows, int context, int pad) {
        List<Batch> out = new ArrayList<>();
        for (int b = 0; b < seqs.size(); b += rows) {
            int[] tokens = new int[rows * context], targets = new int[rows * context];
            int[] positions = new int[rows * context], segments = new int[rows * context];
            Arrays.fill(tokens, pad);
            Arrays.fill(targets, -1);
            int examples = 0, trained = 0;
            for (int r = 0; r < rows && b + r < seqs.size(); r++) {
                int at = r * context, seg = 0;
                for (Example e : seqs.get(b + r).examples()) {
                    seg++;
                    examples++;
                    for (int t = 0; t < e.size(); t++, at++) {
                        tokens[at] = e.tokens()[t];
                        targets[at] = e.targets()[t];
                        positions[at] = t;
                        segments[at] = seg;
                        if (e.targets()[t] >= 0) trained++;
                    }
                }
            }
            out.add(new Batch(rows, context, tokens, targets, positions, segments, examples, trained));
        }
        return out;
    }
}
