package dev.fabric.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fabric.gguf.GgufFile;
import dev.fabric.gguf.GgufTensorInfo;
import dev.fabric.testing.SharedRef;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/** The CLI end to end, in-process: output formats, the reference vectors, errors and exit codes. */
class CliTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @ParameterizedTest
    @ValueSource(strings = {"inspect", "tokenize", "bench"})
    void everyCommandHasHelpWithAnExample(String cmd) {
        Run r = Run.of(cmd, "--help");
        assertEquals(0, r.rc(), r.err());
        assertTrue(r.out().contains("Usage: fabric " + cmd), r.out());
        assertTrue(r.out().contains("Example") || cmd.equals("bench"), r.out());
    }

    @Test
    void benchQuantizePrintsBothColumnsForEachTypeAndRejectsBadShapes() {
        Run r = Run.of("bench", "quantize", "--types", "Q8_0,Q4_K", "--rows", "2", "--cols", "256", "-t", "2");
        assertEquals(0, r.rc(), r.err());
        for (String t : new String[] {"Q8_0", "Q4_K"}) {
            assertEquals(2, r.out().lines().filter(l -> l.startsWith(t + " ") && l.split("GB/s", -1).length == 3).count(),
                    r.out());
        }
        assertEquals(2, Run.of("bench", "quantize", "--cols", "100").rc());
    }

    @Test
    void versionNamesTheCpuFeaturesAndVariant() {
        Run r = Run.of("--version");
        assertEquals(0, r.rc());
        assertTrue(r.out().contains("cpu features:") && r.out().contains("kernel variant:"), r.out());
    }

    @Test
    void missingCommandAndUnknownOptionAreUsageErrors() {
        assertEquals(2, Run.of().rc());
        Run r = Run.of("inspect", "--bogus", "x.gguf");
        assertEquals(2, r.rc());
        assertTrue(r.err().contains("--bogus"), r.err());
    }

    static List<Path> refGgufs() throws IOException {
        Path dir = SharedRef.require("models").getParent();   // skips, saying why, without ../shared/ref
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(p -> p.toString().endsWith(".gguf")).sorted().toList();
        }
    }

    /** inspect --json agrees with the reader on every reference GGUF: counts, shapes, bytes, parameters. */
    @ParameterizedTest
    @MethodSource("refGgufs")
    void inspectJsonDescribesEveryReferenceFile(Path file) throws IOException {
        Run r = Run.of("inspect", "--json", file.toString());
        assertEquals(0, r.rc(), r.err());
        JsonNode doc = JSON.readTree(r.out());
        try (GgufFile f = GgufFile.open(file)) {
            assertEquals(f.tensors().size(), doc.get("tensor_count").asInt());
            assertEquals(f.metadata().keys().size(), doc.get("metadata").size());
            long params = 0;
            for (int i = 0; i < f.tensors().size(); i++) {
                GgufTensorInfo t = f.tensors().get(i);
                JsonNode jt = doc.get("tensors").get(i);
                assertEquals(t.name(), jt.get("name").asText());
                assertEquals(t.type().name(), jt.get("type").asText());
                assertEquals(t.byteSize(), jt.get("bytes").asLong());
                assertEquals(t.shape().length, jt.get("shape").size());
                params += t.elements();
            }
            assertEquals(params, doc.get("parameters").asLong());
            String arch = f.metadata().getString("general.architecture", null);
            assertEquals(arch == null ? null : arch, doc.get("architecture").isNull() ? null : doc.get("architecture").asText());
        }
        Run text = Run.of("inspect", file.toString());
        assertEquals(0, text.rc(), text.err());
        assertTrue(text.out().contains("tensors ("), text.out());
    }

    static List<Object[]> vectors() throws IOException {
        List<Object[]> cases = new ArrayList<>();
        for (JsonNode c : JSON.readTree(SharedRef.require("tokenizer/vectors.json").toFile())) {
            cases.add(new Object[] {c.get("vocab").asText(), c.get("parse_special").asBoolean(), c.get("text").asText(),
                c.get("ids").toString().replace(",", ", ")});
        }
        return cases;
    }

    /** tokenize --ids prints llama-tokenize's last line for every reference case (same BOS default). */
    @ParameterizedTest(name = "{0} special={1} #{index}")
    @MethodSource("vectors")
    void tokenizeIdsMatchLlamaTokenize(String vocab, boolean parseSpecial, String text, String ids) {
        Path model = SharedRef.require("models/ggml-vocab-" + vocab + ".gguf");
        List<String> args = new ArrayList<>(List.of("tokenize", "-m", model.toString(), "--ids"));
        if (!parseSpecial) args.add("--no-parse-special");
        args.add("--");
        args.add(text);
        Run r = Run.of(args.toArray(String[]::new));
        assertEquals(0, r.rc(), r.err());
        assertEquals(ids, r.lastLine());
    }

    @Test
    void tokenizeChatShowsTheLossMask(@TempDir Path tmp) throws IOException {
        Path model = SharedRef.require("models/ggml-vocab-qwen3.gguf");
        Path chat = tmp.resolve("chat.json");
        Files.writeString(chat, """
                [{"role": "user", "content": "Is aspirin an NSAID?"},
                 {"role": "assistant", "content": "Yes."},
                 {"role": "user", "content": "Paracetamol?"},
                 {"role": "assistant", "content": "No."}]""");
        Run r = Run.of("tokenize", "-m", model.toString(), "--chat", chat.toString());
        assertEquals(0, r.rc(), r.err());
        assertTrue(r.out().contains("[[Yes.<|im_end|>]]"), r.out());
        assertTrue(r.out().contains("[[<think>\n\n</think>\n\nNo.<|im_end|>]]"), r.out());
        assertTrue(r.out().contains(". \"<|im_start|>\""), r.out());
        Run ids = Run.of("tokenize", "-m", model.toString(), "--chat", chat.toString(), "--ids");
        List<String> lines = ids.out().lines().toList();
        int masked = lines.get(lines.size() - 2).split("1", -1).length - 1;
        assertTrue(masked >= 6, "mask line: " + lines.get(lines.size() - 2));
    }

    @Test
    void badInputsGiveClearErrorsAndExitCodes(@TempDir Path tmp) throws IOException {
        Run missing = Run.of("inspect", tmp.resolve("nope.gguf").toString());
        assertEquals(3, missing.rc());
        assertTrue(missing.err().contains("nope.gguf"), missing.err());

        Path notGguf = Files.writeString(tmp.resolve("notes.gguf"), "hello, not a model");
        Run bad = Run.of("inspect", notGguf.toString());
        assertEquals(3, bad.rc());
        assertTrue(bad.err().contains("not a GGUF file") && bad.err().contains("notes.gguf"), bad.err());

        Path model = SharedRef.require("models/ggml-vocab-llama-spm.gguf");
        Run noTemplate = Run.of("tokenize", "-m", model.toString(), "--chat", tmp.resolve("c.json").toString());
        assertTrue(noTemplate.rc() != 0);
        Run nothing = Run.of("tokenize", "-m", model.toString());
        assertEquals(2, nothing.rc());
        assertTrue(nothing.err().contains("nothing to tokenize"), nothing.err());
    }
}
