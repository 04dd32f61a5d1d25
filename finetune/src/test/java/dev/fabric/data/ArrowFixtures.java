package dev.fabric.data;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.complex.ListVector;
import org.apache.arrow.vector.complex.impl.UnionListWriter;
import org.apache.arrow.vector.complex.writer.BaseWriter;
import org.apache.arrow.vector.ipc.ArrowFileWriter;
import org.apache.arrow.vector.ipc.ArrowStreamWriter;
import org.apache.arrow.vector.ipc.ArrowWriter;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;

/** Small Arrow IPC tables written by the tests: string columns, and a list-of-struct column of messages. */
final class ArrowFixtures {
    private ArrowFixtures() {}

    /**
     * Writes a table.
     *
     * @param strings    string columns by name; a null entry is a null cell
     * @param listColumn name of a list&lt;struct&lt;keyA, keyB&gt;&gt; column, or null
     * @param structKeys the struct's two field names (role/content or from/value)
     * @param lists      per row, the list's structs as [a, b] pairs (null: a null cell)
     */
    static Path write(Path file, boolean fileFormat, Map<String, List<String>> strings, String listColumn,
            List<String> structKeys, List<List<String[]>> lists) throws IOException {
        List<Field> fields = new ArrayList<>();
        for (String name : strings.keySet()) fields.add(new Field(name, FieldType.nullable(new ArrowType.Utf8()), null));
        if (listColumn != null) {
            List<Field> kids = new ArrayList<>();
            for (String k : structKeys) kids.add(new Field(k, FieldType.nullable(new ArrowType.Utf8()), null));
            Field struct = new Field("item", FieldType.nullable(ArrowType.Struct.INSTANCE), kids);
            fields.add(new Field(listColumn, FieldType.nullable(new ArrowType.List()), List.of(struct)));
        }
        int rows = listColumn != null ? lists.size() : strings.values().iterator().next().size();
        try (BufferAllocator alloc = new RootAllocator();
                VectorSchemaRoot root = VectorSchemaRoot.create(new Schema(fields), alloc);
                OutputStream out = Files.newOutputStream(file)) {
            for (Map.Entry<String, List<String>> e : strings.entrySet()) {
                VarCharVector v = (VarCharVector) root.getVector(e.getKey());
                v.allocateNew();
                for (int i = 0; i < rows; i++) {
                    String s = e.getValue().get(i);
                    if (s == null) v.setNull(i);
                    else v.setSafe(i, s.getBytes(java.nio.charset.StandardCharsets.UTF_8));
                }
                v.setValueCount(rows);
            }
            if (listColumn != null) {
                ListVector lv = (ListVector) root.getVector(listColumn);
                lv.allocateNew();
                UnionListWriter w = lv.getWriter();
                for (int i = 0; i < rows; i++) {
                    w.setPosition(i);
                    if (lists.get(i) == null) continue;
                    w.startList();
                    for (String[] pair : lists.get(i)) {
                        BaseWriter.StructWriter sw = w.struct();
                        sw.start();
                        for (int k = 0; k < structKeys.size(); k++) {
                            if (pair[k] != null) sw.varChar(structKeys.get(k)).writeVarChar(pair[k]);
                        }
                        sw.end();
                    }
                    w.endList();
                }
                for (int i = 0; i < rows; i++) if (lists.get(i) == null) lv.setNull(i);
                lv.setValueCount(rows);
            }
            root.setRowCount(rows);
            try (ArrowWriter aw = fileFormat ? new ArrowFileWriter(root, null, Channels.newChannel(out))
                    : new ArrowStreamWriter(root, null, Channels.newChannel(out))) {
                aw.start();
                aw.writeBatch();
                aw.end();
            }
        }
        return file;
    }
}
