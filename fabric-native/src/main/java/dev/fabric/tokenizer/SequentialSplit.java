package dev.fabric.tokenizer;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Pre-tokenizers made of several splitting stages, each cutting every piece the previous stage left
 * (HF's {@code Sequence} of {@code Split} with behaviour {@code Isolated}: matches and the gaps between
 * them become pieces). Used for the rarer {@code tokenizer.ggml.pre} values; the common ones have
 * dedicated scanners.
 */
final class SequentialSplit implements PreTokenizer {
    private final List<PreTokenizer> stages;

    SequentialSplit(List<PreTokenizer> stages) {
        this.stages = stages;
    }

    /**
     * llama.cpp's pre-tokenizer for {@code tokenizer.ggml.pre = default} (and for files without the key):
     * {@code [\p{P}\$\+<=>\^~\|]+}, then GPT-2's regex, then {@code \p{N}+}, then {@code [0-9][0-9][0-9]}.
     */
    static SequentialSplit llamaCppDefault() {
        return new SequentialSplit(List.of(regex("[\\p{P}\\$\\+<=>\\^~\\|]+"), new Gpt2Split(),
                regex("\\p{N}+"), regex("[0-9][0-9][0-9]")));
    }

    static PreTokenizer regex(String pattern) {
        Pattern p = Pattern.compile(pattern);
        return (cps, from, to, ends) -> {
            String s = new String(cps, from, to - from);
            int[] cpAt = new int[s.length() + 1]; // UTF-16 index -> code point index
            int k = 0;
            for (int i = 0; i < s.length(); i++) {
                cpAt[i] = k;
                if (!Character.isHighSurrogate(s.charAt(i))) k++; // no lone surrogates: cps came from code points
            }
            cpAt[s.length()] = k;
            Matcher m = p.matcher(s);
            int last = 0;
            while (m.find()) {
                if (m.end() == m.start()) continue;
                if (m.start() > last) ends.add(from + cpAt[m.start()]);
                ends.add(from + cpAt[m.end()]);
                last = m.end();
            }
            if (last < s.length()) ends.add(to);
        };
    }

    @Override
    public void split(int[] cps, int from, int to, IntList ends) {
        IntList cur = new IntList();
        if (to > from) cur.add(to);
        for (PreTokenizer stage : stages) {
            IntList next = new IntList(cur.size() * 2);
            int s = from;
            for (int i = 0; i < cur.size(); i++) {
                int e = cur.get(i);
                stage.split(cps, s, e, next);
                s = e;
            }
            cur = next;
        }
        for (int i = 0; i < cur.size(); i++) ends.add(cur.get(i));
    }
}
