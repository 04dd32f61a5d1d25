package dev.fabric.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import java.util.TreeMap;

/**
 * Finds special-token texts in raw input before anything else sees it, as llama.cpp does: control and
 * unknown tokens only when the caller parses specials, user-defined tokens always. Longer texts (in
 * UTF-8 bytes) claim their occurrences first; each text then takes its leftmost non-overlapping
 * occurrences in what is still unclaimed.
 */
final class SpecialTokens {
    private final Node root = new Node();
    private final BitSet firstChars = new BitSet(0x10000);
    /** Processing order of each special token: longer first, then lower id. */
    private final int[] order;
    private final boolean[] always;

    private static final class Node {
        char[] keys = new char[0];
        Node[] kids = new Node[0];
        TreeMap<Character, Node> building = new TreeMap<>();
        int[] ids = new int[0];

        Node child(char c) {
            int i = Arrays.binarySearch(keys, c);
            return i >= 0 ? kids[i] : null;
        }

        void freeze() {
            keys = new char[building.size()];
            kids = new Node[building.size()];
            int i = 0;
            for (var e : building.entrySet()) {
                keys[i] = e.getKey();
                kids[i++] = e.getValue();
                e.getValue().freeze();
            }
            building = null;
        }
    }

    SpecialTokens(List<String> tokens, TokenType[] types) {
        int n = tokens.size();
        always = new boolean[n];
        List<Integer> ids = new ArrayList<>();
        for (int id = 0; id < n; id++) {
            TokenType t = types[id];
            if ((t == TokenType.CONTROL || t == TokenType.USER_DEFINED || t == TokenType.UNKNOWN) && !tokens.get(id).isEmpty()) {
                ids.add(id);
                always[id] = t == TokenType.USER_DEFINED;
            }
        }
        int[] byteLen = new int[n];
        for (int id : ids) byteLen[id] = tokens.get(id).getBytes(StandardCharsets.UTF_8).length;
        ids.sort((a, b) -> byteLen[a] != byteLen[b] ? Integer.compare(byteLen[b], byteLen[a]) : Integer.compare(a, b));
        order = new int[n];
        for (int k = 0; k < ids.size(); k++) {
            int id = ids.get(k);
            order[id] = k;
            String text = tokens.get(id);
            Node node = root;
            for (int i = 0; i < text.length(); i++) node = node.building.computeIfAbsent(text.charAt(i), c -> new Node());
            node.ids = Arrays.copyOf(node.ids, node.ids.length + 1);
            node.ids[node.ids.length - 1] = id;
            firstChars.set(text.charAt(0));
        }
        root.freeze();
    }

    /**
     * Splits text into pieces and appends (start, end, token id or -1 for raw text) for each.
     */
    void partition(String text, boolean parseSpecial, IntList out) {
        int len = text.length();
        // Every occurrence of every eligible text: (processing order, start, end, id).
        List<int[]> occ = new ArrayList<>();
        for (int p = 0; p < len; p++) {
            if (!firstChars.get(text.charAt(p))) continue;
            Node node = root;
            for (int q = p; q < len; q++) {
                node = node.child(text.charAt(q));
                if (node == null) break;
                for (int id : node.ids) {
                    if (parseSpecial || always[id]) {
                        occ.add(new int[] {order[id], p, q + 1, id});
                        break; // equal texts: the lowest id is processed first and claims every occurrence
                    }
                }
            }
        }
        if (occ.isEmpty()) {
            if (len > 0) add(out, 0, len, -1);
            return;
        }
        occ.sort((a, b) -> a[0] != b[0] ? Integer.compare(a[0], b[0]) : Integer.compare(a[1], b[1]));
        BitSet claimed = new BitSet(len);
        List<int[]> taken = new ArrayList<>();
        for (int[] o : occ) {
            int next = claimed.nextSetBit(o[1]);
            if (next >= 0 && next < o[2]) continue;
            claimed.set(o[1], o[2]);
            taken.add(o);
        }
        taken.sort((a, b) -> Integer.compare(a[1], b[1]));
        int pos = 0;
        for (int[] t : taken) {
            if (t[1] > pos) add(out, pos, t[1], -1);
            add(out, t[1], t[2], t[3]);
            pos = t[2];
        }
        if (pos < len) add(out, pos, len, -1);
    }

    private static void add(IntList out, int start, int end, int id) {
        out.add(start);
        out.add(end);
        out.add(id);
    }
}
