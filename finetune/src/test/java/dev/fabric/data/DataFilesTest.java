package dev.fabric.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fabric.recipe.Recipe.Format;
import dev.fabric.template.ChatMessage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The four row shapes in JSONL and Arrow (file and stream), plain text, detection, and malformed rows. */
class DataFilesTest {
    @TempDir
    Path dir;

    private Path file(String name, String text) throws IOException {
        return Files.writeString(dir.resolve(name), text);
    }

    private static List<String> turns(Row r) {
        return r.messages().stream().map(m -> m.role() + ": " + m.content()).toList();
    }

    @Test
    void theFourJsonlShapesAreDetectedAndConverted() throws IOException {
        DataFiles.Read m = DataFiles.read(file("m.jsonl", """
                {"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello", "reasoning_content": "greet"}]}

                {"messages": [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"}]}
                """), "m.jsonl", Format.AUTO);
        assertEquals(Format.MESSAGES, m.format());
        assertTrue(m.detected());
        assertEquals(List.of("system: Be brief.", "user: Hi", "assistant: Hello"), turns(m.rows().get(0)));
        assertEquals("greet", m.rows().get(0).messages().get(2).reasoningContent());
        assertEquals("m.jsonl:3", m.rows().get(1).where());

        DataFiles.Read s = DataFiles.read(file("s.jsonl", """
                {"system": "Be brief.", "conversations": [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Hello"}]}
                """), "s.jsonl", Format.AUTO);
        assertEquals(Format.SHAREGPT, s.format());
        assertEquals(List.of("system: Be brief.", "user: Hi", "assistant: Hello"), turns(s.rows().get(0)));

        DataFiles.Read a = DataFiles.read(file("a.jsonl", """
                {"instruction": "Translate to French.", "input": "cat", "output": "chat"}
                {"instruction": "Say hi.", "input": "", "output": "hi"}
                """), "a.jsonl", Format.AUTO);
        assertEquals(Format.ALPACA, a.format());
        assertEquals(List.of("user: Translate to French.\n\ncat", "assistant: chat"), turns(a.rows().get(0)));
        assertEquals(List.of("user: Say hi.", "assistant: hi"), turns(a.rows().get(1)));

        DataFiles.Read t = DataFiles.read(file("t.jsonl", "{\"text\": \"Once upon a time.\"}\n"), "t.jsonl", Format.AUTO);
        assertEquals(Format.TEXT, t.format());
        assertEquals("Once upon a time.", t.rows().get(0).text());
    }

    @Test
    void aJsonArrayOfRowsNamesEachRowByItsFirstLine() throws IOException {
        DataFiles.Read a = DataFiles.read(file("alpaca.json", """
                [
                  {"instruction": "Say hi.", "output": "hi"},
                  {
                    "instruction": "Add.",
                    "input": "1 and 2"
                  },
                  {"instruction": "Count.", "output": "1 2 3"}
                ]
                """), "alpaca.json", Format.AUTO);
        assertEquals("json", a.container());
        assertEquals(Format.ALPACA, a.format());
        assertEquals(List.of("alpaca.json:2", "alpaca.json:7"), a.rows().stream().map(Row::where).toList());
        assertEquals("alpaca.json:3: \"output\": missing", a.malformed().get(0).toString());
        DataException e = assertThrows(DataException.class, () -> DataFiles.read(file("cut.json",
                "[\n  {\"text\": \"a\"},\n  {\"text\": \n"), "cut.json", Format.AUTO));
        assertTrue(e.getMessage().startsWith("cut.json:4:1: invalid JSON: "), e.getMessage());
    }

    @Test
    void plainTextFilesHaveOneRowPerParagraph() throws IOException {
        DataFiles.Read t = DataFiles.read(file("notes.txt", "First line\nsecond line\n\n\nNext paragraph.\n"),
                "notes.txt", Format.AUTO);
        assertEquals(2, t.rows().size());
        assertEquals("First line\nsecond line", t.rows().get(0).text());
        assertEquals("notes.txt:5", t.rows().get(1).where());
    }

    @Test
    void arrowFileAndStreamCarryTheSameShapes() throws IOException {
        for (boolean fileFormat : new boolean[] {true, false}) {
            Path p = ArrowFixtures.write(dir.resolve("m" + fileFormat + ".arrow"), fileFormat, Map.of(), "messages",
                    List.of("role", "content"), List.of(
                            List.of(new String[] {"user", "Hi"}, new String[] {"assistant", "Hello"}),
                            List.of(new String[] {"user", "2+2?"}, new String[] {"assistant", "4"})));
            DataFiles.Read r = DataFiles.read(p, "m.arrow", Format.AUTO);
            assertEquals(fileFormat ? "arrow-file" : "arrow-stream", r.container());
            assertEquals(Format.MESSAGES, r.format());
            assertEquals(List.of("user: 2+2?", "assistant: 4"), turns(r.rows().get(1)));
            assertEquals("m.arrow:row 1", r.rows().get(1).where());
        }
        Map<String, List<String>> cols = new LinkedHashMap<>();
        cols.put("instruction", List.of("Say hi.", "Add."));
        cols.put("input", java.util.Arrays.asList(null, "1 and 2"));
        cols.put("output", List.of("hi", "3"));
        DataFiles.Read a = DataFiles.read(ArrowFixtures.write(dir.resolve("a.arrows"), false, cols, null, null, null),
                "a.arrows", Format.AUTO);
        assertEquals(Format.ALPACA, a.format());
        assertEquals(List.of("user: Add.\n\n1 and 2", "assistant: 3"), turns(a.rows().get(1)));
        DataFiles.Read s = DataFiles.read(ArrowFixtures.write(dir.resolve("s.arrow"), true, Map.of(), "conversations",
                List.of("from", "value"), List.of(List.of(new String[] {"human", "Hi"}, new String[] {"gpt", "Yo"}))),
                "s.arrow", Format.AUTO);
        assertEquals(Format.SHAREGPT, s.format());
        assertEquals(List.of("user: Hi", "assistant: Yo"), turns(s.rows().get(0)));
        DataFiles.Read t = DataFiles.read(ArrowFixtures.write(dir.resolve("t.arrow"), true,
                Map.of("text", List.of("abc", "def")), null, null, null), "t.arrow", Format.AUTO);
        assertEquals(Format.TEXT, t.format());
        assertEquals("def", t.rows().get(1).text());
    }

    /** One kind of malformed row each: it is skipped and reported with its file:line (or file:row) and why. */
    static Stream<Arguments> malformedRows() {
        String ok = "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": \"Yo\"}]}\n";
        String okS = "{\"conversations\": [{\"from\": \"human\", \"value\": \"Hi\"}, {\"from\": \"gpt\", \"value\": \"Yo\"}]}\n";
        String okA = "{\"instruction\": \"Say hi.\", \"output\": \"hi\"}\n";
        return Stream.of(
                Arguments.of("invalid JSON", ok + "{\"messages\": [}\n", "d.jsonl:2: invalid JSON at column 15"),
                Arguments.of("not an object", ok + "[1, 2]\n", "d.jsonl:2: expected a JSON object, got an array"),
                Arguments.of("message without role", ok + "{\"messages\": [{\"content\": \"Hi\"}]}\n",
                        "d.jsonl:2: messages[0]: missing \"role\""),
                Arguments.of("content of the wrong type",
                        ok + "{\"messages\": [{\"role\": \"user\", \"content\": 5}]}\n",
                        "d.jsonl:2: messages[0].content: expected a string, null or a list of text parts"),
                Arguments.of("empty conversation", ok + "{\"messages\": []}\n", "d.jsonl:2: \"messages\": an empty conversation"),
                Arguments.of("messages not an array", ok + "{\"messages\": \"hello\"}\n",
                        "d.jsonl:2: \"messages\": expected an array of {role, content}, got a string"),
                Arguments.of("unknown ShareGPT speaker", okS + "{\"conversations\": [{\"from\": \"narrator\", \"value\": \"x\"}]}\n",
                        "d.jsonl:2: conversations[0].from: unknown speaker 'narrator'; expected human, gpt, system or tool"),
                Arguments.of("ShareGPT turn without value", okS + "{\"conversations\": [{\"from\": \"human\"}]}\n",
                        "d.jsonl:2: conversations[0].value: missing"),
                Arguments.of("Alpaca without output", okA + "{\"instruction\": \"Say hi.\"}\n",
                        "d.jsonl:2: \"output\": missing"),
                Arguments.of("Alpaca output not a string", okA + "{\"instruction\": \"Say hi.\", \"output\": [\"hi\"]}\n",
                        "d.jsonl:2: \"output\": expected a string, got an array"),
                Arguments.of("a row of another shape", ok + okA,
                        "d.jsonl:2: an alpaca row in a file read as messages (set data.format, or keep one shape per file)"),
                Arguments.of("a row of no shape", ok + "{\"question\": \"why\"}\n", "d.jsonl:2: \"messages\": missing"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("malformedRows")
    void malformedRowIsSkippedAndNamed(String kind, String text, String expected) throws IOException {
        DataFiles.Read r = DataFiles.read(file("d.jsonl", text), "d.jsonl", Format.AUTO);
        assertEquals(1, r.rows().size(), kind);
        assertEquals(1, r.malformed().size(), kind);
        String got = r.malformed().get(0).toString();
        assertTrue(got.startsWith(expected), kind + ":\n  expected: " + expected + "\n  got:      " + got);
    }

    @Test
    void arrowRowsAreNamedByIndex() throws IOException {
        Path p = ArrowFixtures.write(dir.resolve("m.arrow"), true, Map.of(), "messages", List.of("role", "content"),
                java.util.Arrays.asList(List.of(new String[] {"user", "Hi"}, new String[] {"assistant", "Yo"}),
                        List.<String[]>of(new String[] {null, "Hi"}), null));
        DataFiles.Read r = DataFiles.read(p, "m.arrow", Format.AUTO);
        assertEquals(1, r.rows().size(), r.rows() + " " + r.malformed());
        assertEquals("m.arrow:row 1: messages[0]: missing \"role\"", r.malformed().get(0).toString());
        assertEquals("m.arrow:row 2: \"messages\": missing", r.malformed().get(1).toString());
    }

    /** Files that cannot be read at all: an error naming the file (and line where there is one). */
    @Test
    void unreadableFilesAreErrors() throws IOException {
        assertEquals("e.jsonl: no rows (the file is empty)",
                assertThrows(DataException.class, () -> DataFiles.read(file("e.jsonl", "\n\n"), "e.jsonl", Format.AUTO))
                        .getMessage());
        assertEquals("q.jsonl: cannot detect the row format: no row has \"messages\", \"conversations\", \"instruction\""
                        + " or \"text\" (first row at q.jsonl:1)",
                assertThrows(DataException.class, () -> DataFiles.read(file("q.jsonl", "{\"q\": 1}\n"), "q.jsonl",
                        Format.AUTO)).getMessage());
        Files.write(dir.resolve("b.jsonl"), new byte[] {'{', '"', 't', 'e', 'x', 't', '"', ':', '"', (byte) 0xC3, '"', '}', '\n'});
        assertEquals("b.jsonl:1: not UTF-8 text", assertThrows(DataException.class,
                () -> DataFiles.read(dir.resolve("b.jsonl"), "b.jsonl", Format.AUTO)).getMessage());
        assertEquals("n.jsonl: no such file", assertThrows(DataException.class,
                () -> DataFiles.read(dir.resolve("n.jsonl"), "n.jsonl", Format.AUTO)).getMessage());
        Path t = ArrowFixtures.write(dir.resolve("x.arrow"), true, Map.of("prompt", List.of("a")), null, null, null);
        assertEquals("x.arrow: cannot detect the row format: no column messages, conversations, instruction or text"
                + " (columns: prompt)", assertThrows(DataException.class, () -> DataFiles.read(t, "x.arrow", Format.AUTO))
                .getMessage());
        assertEquals("x.arrow: no column 'text' for data.format text (columns: prompt)",
                assertThrows(DataException.class, () -> DataFiles.read(t, "x.arrow", Format.TEXT)).getMessage());
        Files.write(dir.resolve("cut.arrow"), java.util.Arrays.copyOf(Files.readAllBytes(t), 40));
        assertTrue(assertThrows(DataException.class, () -> DataFiles.read(dir.resolve("cut.arrow"), "cut.arrow",
                Format.AUTO)).getMessage().startsWith("cut.arrow: not a readable Arrow IPC file"));
        assertEquals("p.txt: a plain-text file holds text rows, but data.format is messages",
                assertThrows(DataException.class, () -> DataFiles.read(file("p.txt", "x\n"), "p.txt", Format.MESSAGES))
                        .getMessage());
    }

    @Test
    void chatMessagesKeepToolCalls() throws IOException {
        DataFiles.Read r = DataFiles.read(file("tools.jsonl", "{\"messages\": [{\"role\": \"user\", \"content\": \"Weather?\"},"
                + " {\"role\": \"assistant\", \"content\": \"\", \"tool_calls\": [{\"function\": {\"name\": \"w\","
                + " \"arguments\": {\"city\": \"Paris\"}}}]}, {\"role\": \"tool\", \"content\": \"18\"},"
                + " {\"role\": \"assistant\", \"content\": \"18 C\"}]}\n"), "tools.jsonl", Format.MESSAGES);
        ChatMessage call = r.rows().get(0).messages().get(1);
        assertEquals("w", call.toolCalls().get(0).name());
        assertEquals(Map.of("city", "Paris"), call.toolCalls().get(0).arguments());
    }
}
