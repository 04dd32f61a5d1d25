package dev.fabric.recipe;

import java.util.Collection;

/** "did you mean ...?" for misspelt keys and values: the closest candidate by edit distance, if close enough. */
final class Suggest {
    private Suggest() {}

    /**
     * A suggestion for {@code word} among {@code candidates}, as {@code " (did you mean X?)"}, or "". A key put
     * in the wrong section ({@code rank} at the top level) finds its full key by its last part.
     */
    static String didYouMean(String word, Collection<String> candidates, String display) {
        String best = null;
        int bestD = Integer.MAX_VALUE;
        String leaf = word.substring(word.lastIndexOf('.') + 1);
        for (String c : candidates) {
            int d = distance(word, c);
            String cLeaf = c.substring(c.lastIndexOf('.') + 1);
            if (cLeaf.equals(leaf) && !c.equals(word)) d = Math.min(d, 1);
            if (d < bestD) {
                bestD = d;
                best = c;
            }
        }
        int limit = Math.max(2, word.length() / 3);
        return best != null && bestD <= limit ? " (did you mean " + display + best + "?)" : "";
    }

    /** Damerau-Levenshtein distance (optimal string alignment): a swap of two neighbours counts one. */
    static int distance(String a, String b) {
        int[][] d = new int[a.length() + 1][b.length() + 1];
        for (int i = 0; i <= a.length(); i++) d[i][0] = i;
        for (int j = 0; j <= b.length(); j++) d[0][j] = j;
        for (int i = 1; i <= a.length(); i++) {
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                d[i][j] = Math.min(Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1), d[i - 1][j - 1] + cost);
                if (i > 1 && j > 1 && a.charAt(i - 1) == b.charAt(j - 2) && a.charAt(i - 2) == b.charAt(j - 1)) {
                    d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
                }
            }
        }
        return d[a.length()][b.length()];
    }
}
