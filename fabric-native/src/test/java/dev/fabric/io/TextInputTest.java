package dev.fabric.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fabric.FabricException;
import dev.fabric.gguf.GgufFile;
import dev.fabric.testing.SharedRef;
import dev.fabric.tokenizer.Tokenizer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Bounded, strict UTF-8 reading of user text files. */
class TextInputTest {
    @TempDir
    Path dir;

    @Test
    void limitIsInclusive_andTheErrorNamesFileLimitAndOption() throws Exception {
        Path f = Files.write(dir.resolve("t.txt"), "x".repeat(2048).getBytes(StandardCharsets.US_ASCII));
        assertEquals(2048, TextInput.read(f, 2048, "--max").length());
        FabricException e = assertThrows(FabricException.class, () -> TextInput.read(f, 2047, "--max-input-mib"));
        assertEquals(FabricException.EXIT_INPUT, e.exitCode());
        assertTrue(e.getMessage().contains("t.txt") && e.getMessage().contains("--max-input-mib"), e.getMessage());
    }

    @Test
    void endlessDeviceStopsAtTheLimit() {
        FabricException e = assertThrows(FabricException.class, () -> TextInput.read(Path.of("/dev/zero"), 1 << 20, null));
        assertTrue(e.getMessage().contains("/dev/zero") && e.getMessage().contains("1 MiB"), e.getMessage());
    }

    /** The offset reported is that of the first byte of the malformed sequence, for each kind of malformation. */
    @ParameterizedTest
    @ValueSource(strings = {"ff", "c0af", "eda080", "e282", "80", "f8888080"})
    void badUtf8_isReportedWithItsByteOffset(String hex) throws Exception {
        byte[] bad = java.util.HexFormat.of().parseHex(hex);
        byte[] text = "héllo, ".getBytes(StandardCharsets.UTF_8); // 8 bytes: é is two
        byte[] all = Arrays.copyOf(text, text.length + bad.length + 3);
        System.arraycopy(bad, 0, all, text.length, bad.length);
        all[all.length - 3] = 'a';
        all[all.length - 2] = 'b';
        all[all.length - 1] = 'c';
        Path f = Files.write(dir.resolve("bad.txt"), all);
        FabricException e = assertThrows(FabricException.class, () -> TextInput.read(f, 1 << 20, null));
        assertTrue(e.getMessage().contains("bad.txt: not valid UTF-8 at byte offset 8 "), e.getMessage());
    }

    @Test
    void prefix_wholeFileWhenShort_elseEndsAtALineEnd() throws Exception {
        Path f = Files.writeString(dir.resolve("p.txt"), "line one\nline two\nline three\n");
        TextInput.Prefix all = TextInput.readPrefix(f, 1000, 1 << 20, null);
        assertFalse(all.truncated());
        assertEquals("line one\nline two\nline three\n", all.text());
        TextInput.Prefix p = TextInput.readPrefix(f, 11, 1 << 20, null);
        assertTrue(p.truncated());
        assertEquals("line one\nline two\n", p.text());
        TextInput.Prefix z = TextInput.readPrefix(Path.of("/dev/zero"), 1000, 1 << 20, null);
        assertTrue(z.truncated() && z.text().length() >= 1000 && z.bytes() <= (1 << 20), "" + z.bytes());
    }

    /**
     * What perplexity and imatrix rely on when they stop reading early: the first T tokens of a prefix of at least
     * (T + 1) * (longest token text) bytes, cut at a line end, are the first T tokens of the whole text. Checked on
     * both tokenizer kinds (byte-level BPE with its pre-tokenizer regex, SentencePiece) over a real text.
     */
    @ParameterizedTest
    @ValueSource(strings = {"models/ggml-vocab-qwen3.gguf", "models/ggml-vocab-llama-spm.gguf"})
    void prefixTokens_areThoseOfTheWholeText(String vocab) throws Exception {
        Tokenizer tok;
        try (GgufFile g = GgufFile.open(SharedRef.require(vocab))) {
            tok = Tokenizer.fromGguf(g.metadata());
        }
        String story = Files.readString(SharedRef.require("engine/story.txt"));
        Path f = Files.writeString(dir.resolve("story.txt"), story.repeat(20));
        int[] whole = tok.encode(Files.readString(f), true, false);
        long maxToken = tok.vocabulary().tokens().stream().mapToLong(t -> t.getBytes(StandardCharsets.UTF_8).length).max().orElseThrow();
        for (int tokens : new int[] {16, 100, 1000}) {
            TextInput.Prefix p = TextInput.readPrefix(f, (tokens + 1) * maxToken, 1 << 30, null);
            int[] prefix = tok.encode(p.text(), true, false);
            assertTrue(prefix.length >= tokens, vocab + ": " + prefix.length + " < " + tokens);
            assertArrayEquals(Arrays.copyOf(whole, tokens), Arrays.copyOf(prefix, tokens), vocab + ", " + tokens + " tokens");
        }
    }
}
