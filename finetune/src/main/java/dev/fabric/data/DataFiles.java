package dev.fabric.data;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.fabric.recipe.Recipe.Format;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowFileReader;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.apache.arrow.vector.ipc.ArrowStreamReader;
import org.apache.arrow.vector.util.Text;

/**
 * Reads one data file into rows. The kind of file is told by its first bytes: {@code ARROW1} is an Arrow IPC
 * file, {@code FF FF FF FF} an Arrow IPC stream; otherwise {@code .txt} and {@code .md} files are plain text
 * (one text row per paragraph, paragraphs separated by blank lines), a file starting with {@code [} a JSON
 * array of row objects, and anything else JSON Lines (one JSON object per line; blank lines are skipped). Arrow tables carry the row shapes of {@link RowShapes} as columns
 * (strings, and lists of structs for messages and conversations).
 *
 * <p>With format AUTO, a file's format is the shape of its first row that has one; every row is then read as
 * that format. A row that cannot be read is recorded as {@link Malformed} with its line (JSONL, text) or row
 * index from 0 (Arrow) and skipped; a file that cannot be read at all is an error.
 */
public final class DataFiles {
    private DataFiles() {}

    private static final ObjectMapper JSON = new ObjectMapper();

    /** What a file gave: its rows, the rows skipped, the format used and whether it was detected. */
    public record Read(String source, Format format, boolean detected, String container, List<Row> rows,
            List<Malformed> malformed) {
        /** Rows in the file: read plus skipped. */
        public int total() {
            return rows.size() + malformed.size();
        }
    }

    /**
     * @param file    the file
     * @param name    how messages name it (the path as the recipe wrote it, or the file's path)
     * @param format  the recipe's data.format (AUTO to detect)
     */
    public static Read read(Path file, String name, Format format) {
        byte[] head = new byte[6];
        int n;
        try (InputStream in = Files.newInputStream(file)) {
            n = in.readNBytes(head, 0, 6);
        } catch (NoSuchFileException e) {
            throw new DataException(name + ": no such file", DataException.EXIT_INPUT, e);
        } catch (IOException e) {
            throw new DataException(name + ": cannot read: " + e.getMessage(), DataException.EXIT_IO, e);
        }
        if (n == 6 && new String(head, StandardCharsets.ISO_8859_1).equals("ARROW1")) return arrow(file, name, format, true);
        if (n >= 4 && head[0] == (byte) 0xFF && head[1] == (byte) 0xFF && head[2] == (byte) 0xFF && head[3] == (byte) 0xFF) {
            return arrow(file, name, format, false);
        }
        String lower = file.getFileName().toString().toLowerCase(Locale.ROOT);
        if (lower.endsWith(".txt") || lower.endsWith(".md")) return text(file, name, format);
        if (startsWithBracket(file)) return jsonArray(file, name, format);
        return jsonl(file, name, format);
    }

    /** Whether the file's first non-blank character is '[' (a JSON array of rows rather than JSON Lines). */
    private static boolean startsWithBracket(Path file) {
        try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.ISO_8859_1)) {
            for (int c; (c = r.read()) >= 0; ) {
                if (c == 0xEF || c == 0xBB || c == 0xBF || Character.isWhitespace(c)) continue;
                return c == '[';
            }
        } catch (IOException e) {
            return false;
        }
        return false;
    }

    /**
     * A JSON array of row objects (as Alpaca's own data file is): each row is named by the line its object
     * starts on. A syntax error ends the file (the parser cannot find the next row), so it is an error with
     * its line and column, not a skipped row.
     */
    private static Read jsonArray(Path file, String name, Format format) {
        Shaper sh = new Shaper(name, format);
        try (BufferedReader in = utf8(file); com.fasterxml.jackson.core.JsonParser p = JSON.getFactory().createParser(in)) {
            if (p.nextToken() != com.fasterxml.jackson.core.JsonToken.START_ARRAY) {
                throw new DataException(name + ": expected a JSON array of rows");
            }
            for (com.fasterxml.jackson.core.JsonToken t; (t = p.nextToken()) != com.fasterxml.jackson.core.JsonToken.END_ARRAY; ) {
                if (t == null) throw new DataException(name + ": the JSON array is not closed");
                int line = p.currentTokenLocation().getLineNr();
                JsonNode node = JSON.readTree(p);
                sh.add(node, name + ":" + line);
            }
            if (p.nextToken() != null) {
                throw new DataException(name + ":" + p.currentTokenLocation().getLineNr() + ": content after the JSON array");
            }
        } catch (JsonProcessingException e) {
            throw new DataException(name + ":" + e.getLocation().getLineNr() + ":" + e.getLocation().getColumnNr()
                    + ": invalid JSON: " + jsonProblem(e.getOriginalMessage()), e);
        } catch (CharacterCodingException e) {
            throw new DataException(name + ": not UTF-8 text", e);
        } catch (IOException e) {
            throw new DataException(name + ": cannot read: " + e.getMessage(), DataException.EXIT_IO, e);
        }
        return sh.finish("json");
    }

    /** Rows to shapes, detecting the format from the first row that has one (rows before it wait). */
    private static final class Shaper {
        final String name;
        final Format asked;
        Format use;
        final List<Object[]> pending = new ArrayList<>();
        final List<Row> rows = new ArrayList<>();
        final List<Malformed> bad = new ArrayList<>();

        Shaper(String name, Format asked) {
            this.name = name;
            this.asked = asked;
            this.use = asked == Format.AUTO ? null : asked;
        }

        void add(JsonNode node, String where) {
            if (use == null) {
                use = RowShapes.detect(node);
                if (use == null) {
                    pending.add(new Object[] {where, node});
                    return;
                }
                for (Object[] p : pending) one((JsonNode) p[1], use, (String) p[0], name, rows, bad);
                pending.clear();
            }
            one(node, use, where, name, rows, bad);
        }

        Read finish(String container) {
            if (use == null) {
                if (pending.isEmpty() && bad.isEmpty()) throw new DataException(name + ": no rows (the file is empty)");
                throw new DataException(name + ": cannot detect the row format: no row has \"messages\","
                        + " \"conversations\", \"instruction\" or \"text\""
                        + (pending.isEmpty() ? "" : " (first row at " + pending.get(0)[0] + ")"));
            }
            bad.sort(java.util.Comparator.comparingInt(m -> lineOf(m.where())));
            return new Read(name, use, asked == Format.AUTO, container, rows, bad);
        }
    }

    private static BufferedReader utf8(Path file) throws IOException {
        return new BufferedReader(Channels.newReader(FileChannel.open(file, StandardOpenOption.READ),
                StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT), -1));
    }

    private static Read jsonl(Path file, String name, Format format) {
        Shaper sh = new Shaper(name, format);
        int line = 0;
        try (BufferedReader r = utf8(file)) {
            for (String s; (s = r.readLine()) != null; ) {
                line++;
                if (line == 1 && s.startsWith("\uFEFF")) s = s.substring(1);
                if (s.isBlank()) continue;
                String where = name + ":" + line;
                JsonNode node;
                try {
                    node = JSON.readTree(s);
                } catch (JsonProcessingException e) {
                    sh.bad.add(new Malformed(where, "invalid JSON at column " + e.getLocation().getColumnNr() + ": "
                            + jsonProblem(e.getOriginalMessage())));
                    continue;
                }
                sh.add(node, where);
            }
        } catch (CharacterCodingException e) {
            throw new DataException(name + ":" + (line + 1) + ": not UTF-8 text", e);
        } catch (IOException e) {
            throw new DataException(name + ": cannot read: " + e.getMessage(), DataException.EXIT_IO, e);
        }
        return sh.finish("jsonl");
    }

    /** Jackson's message without its source-location tail, which names no file a user knows. */
    static String jsonProblem(String msg) {
        int k = msg.indexOf(" (start marker at");
        if (k >= 0) msg = msg.substring(0, k);
        k = msg.indexOf('\n');
        return k >= 0 ? msg.substring(0, k) : msg;
    }

    private static int lineOf(String where) {
        int k = where.lastIndexOf(':');
        try {
            return Integer.parseInt(where.substring(k + 1));
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    private static void one(JsonNode node, Format format, String where, String source, List<Row> rows, List<Malformed> bad) {
        try {
            rows.add(RowShapes.parse(node, format, where, source));
        } catch (DataException e) {
            bad.add(new Malformed(where, e.getMessage()));
        }
    }

    private static Read text(Path file, String name, Format format) {
        if (format != Format.AUTO && format != Format.TEXT) {
            throw new DataException(name + ": a plain-text file holds text rows, but data.format is " + format.label());
        }
        List<Row> rows = new ArrayList<>();
        int line = 0, start = 0;
        StringBuilder para = new StringBuilder();
        try (BufferedReader r = utf8(file)) {
            for (String s; (s = r.readLine()) != null; ) {
                line++;
                if (line == 1 && s.startsWith("\uFEFF")) s = s.substring(1);
                if (s.isBlank()) {
                    if (!para.isEmpty()) rows.add(new Row(name + ":" + start, name, Format.TEXT, null, para.toString()));
                    para.setLength(0);
                    continue;
                }
                if (para.isEmpty()) start = line;
                else para.append('\n');
                para.append(s);
            }
        } catch (CharacterCodingException e) {
            throw new DataException(name + ":" + (line + 1) + ": not UTF-8 text", e);
        } catch (IOException e) {
            throw new DataException(name + ": cannot read: " + e.getMessage(), DataException.EXIT_IO, e);
        }
        if (!para.isEmpty()) rows.add(new Row(name + ":" + start, name, Format.TEXT, null, para.toString()));
        if (rows.isEmpty()) throw new DataException(name + ": no rows (the file is empty)");
        return new Read(name, Format.TEXT, format == Format.AUTO, "text", rows, List.of());
    }

    private static Read arrow(Path file, String name, Format format, boolean fileFormat) {
        List<Row> rows = new ArrayList<>();
        List<Malformed> bad = new ArrayList<>();
        Format use = format == Format.AUTO ? null : format;
        long index = 0;
        try (BufferAllocator alloc = new RootAllocator();
                FileChannel ch = FileChannel.open(file, StandardOpenOption.READ);
                ArrowReader reader = fileFormat ? new ArrowFileReader(ch, alloc) : new ArrowStreamReader(ch, alloc)) {
            VectorSchemaRoot root = reader.getVectorSchemaRoot();
            List<String> columns = root.getSchema().getFields().stream().map(f -> f.getName()).toList();
            if (use == null) {
                for (Format f : List.of(Format.MESSAGES, Format.SHAREGPT, Format.ALPACA, Format.TEXT)) {
                    if (columns.contains(column(f))) {
                        use = f;
                        break;
                    }
                }
                if (use == null) {
                    throw new DataException(name + ": cannot detect the row format: no column messages, conversations,"
                            + " instruction or text (columns: " + String.join(", ", columns) + ")");
                }
            } else if (!columns.contains(column(use))) {
                throw new DataException(name + ": no column '" + column(use) + "' for data.format " + use.label()
                        + " (columns: " + String.join(", ", columns) + ")");
            }
            while (reader.loadNextBatch()) {
                for (int i = 0; i < root.getRowCount(); i++, index++) {
                    Map<String, Object> row = new LinkedHashMap<>();
                    for (FieldVector v : root.getFieldVectors()) {
                        Object o = plain(v.getObject(i));
                        if (o != null) row.put(v.getName(), o);
                    }
                    one(JSON.valueToTree(row), use, name + ":row " + index, name, rows, bad);
                }
            }
        } catch (DataException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            throw new DataException(name + (index > 0 ? ":row " + index : "") + ": not a readable Arrow IPC "
                    + (fileFormat ? "file" : "stream") + ": " + e.getMessage(), e);
        }
        if (rows.isEmpty() && bad.isEmpty()) throw new DataException(name + ": no rows (the table is empty)");
        return new Read(name, use, format == Format.AUTO, fileFormat ? "arrow-file" : "arrow-stream", rows, bad);
    }

    private static String column(Format f) {
        return switch (f) {
            case MESSAGES -> "messages";
            case SHAREGPT -> "conversations";
            case ALPACA -> "instruction";
            case TEXT -> "text";
            case AUTO -> throw new IllegalArgumentException();
        };
    }

    /** Arrow's Java values (Text, JsonStringArrayList, JsonStringHashMap) as plain strings, lists and maps. */
    private static Object plain(Object o) {
        if (o == null) return null;
        if (o instanceof Text t) return t.toString();
        if (o instanceof List<?> l) {
            List<Object> out = new ArrayList<>(l.size());
            for (Object x : l) out.add(plain(x));
            return out;
        }
        if (o instanceof Map<?, ?> m) {
            Map<String, Object> out = new LinkedHashMap<>();
            for (Map.Entry<?, ?> e : m.entrySet()) {
                Object v = plain(e.getValue());
                if (v != null) out.put(String.valueOf(e.getKey()), v);
            }
            return out;
        }
        if (o instanceof byte[] b) return new String(b, StandardCharsets.UTF_8);
        if (o instanceof Number || o instanceof Boolean || o instanceof String) return o;
        return o.toString();
    }
}
