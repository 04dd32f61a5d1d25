package dev.fabric.model;

import java.util.ArrayList;
import java.util.List;

/** Token generation on a {@link Transformer}. */
public final class Generator {
    private Generator() {}

    /**
     * Greedy decoding as llama-simple does it: evaluates the prompt, then picks the most likely token (the
     * lowest id among equals) nPredict times, feeding each back, stopping early after an end-of-generation id.
     * Returns the generated ids (the end-of-generation id included where one came).
     */
    public static int[] greedy(Transformer model, int[] prompt, int nPredict, java.util.function.IntPredicate isEog) {
        List<Integer> out = new ArrayList<>();
        int pos = 0;
        int[] batch = prompt;
        for (int i = 0; i < nPredict; i++) {
            if (pos + batch.length > model.nCtx()) break;
            float[] logits = model.forward(batch, pos, true);
            pos += batch.length;
            int best = argmax(logits);
            out.add(best);
            if (isEog.test(best)) break;
            batch = new int[] {best};
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
        return best;
    }
}
