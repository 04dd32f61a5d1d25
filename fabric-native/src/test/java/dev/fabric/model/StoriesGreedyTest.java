package dev.fabric.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.fabric.backend.cpu.CpuBackend;
import dev.fabric.testing.SharedRef;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * stories260K (llama2.c's TinyStories 260K, real weights) greedy from BOS against the story llama2.c's own run.c
 * printed: an independent implementation of the same llama forward pass.
 */
class StoriesGreedyTest {
    @Test
    void greedyFromBos_matchesRunC() throws Exception {
        Path model = SharedRef.require("engine/stories260K.gguf");
        String expected = Files.readString(SharedRef.require("engine/stories260K.runc-greedy-256.txt"));
        try (Model m = Model.open(model, new CpuBackend(1)); Transformer t = m.newSession(257, List.of())) {
            int[] out = Generator.greedy(t, new int[] {1}, 256, id -> false);
            List<String> vocab = m.file().metadata().getStringArray("tokenizer.ggml.tokens");
            String text = decode(vocab, out);
            // run.c drops the space that starts the first piece after BOS
            if (text.startsWith(" ")) text = text.substring(1);
            String common = commonPrefix(expected, text);
            System.out.println("stories greedy: " + common.length() + " of " + expected.length() + " chars agree; ours continues: " + text.substring(common.length(), Math.min(text.length(), common.length() + 40)).replace("\n", "\\n"));
            // run.c samples at each of its 256 steps, then prints a newline; compare the whole story it printed (less its final newline)
            String want = expected.stripTrailing();
            assertEquals(want, text.substring(0, Math.min(want.length(), text.length())));
        }
    }

    static String commonPrefix(String a, String b) {
        int i = 0;
        while (i < a.length() && i < b.length() && a.charAt(i) == b.charAt(i)) i++;
        return a.substring(0, i);
    }

    /** SentencePiece pieces to text: U+2581 is a space, <0xNN> a raw byte. */
    static String decode(List<String> vocab, int[] ids) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int id : ids) {
            String p = vocab.get(id);
            if (p.length() == 6 && p.startsWith("<0x") && p.endsWith(">")) out.write(Integer.parseInt(p.substring(3, 5), 16));
            else out.writeBytes(p.replace('\u2581', ' ').getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }
        return out.toString(java.nio.charset.StandardCharsets.UTF_8);
    }
}
