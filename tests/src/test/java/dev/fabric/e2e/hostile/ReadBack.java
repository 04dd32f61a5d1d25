package dev.fabric.e2e.hostile;

import dev.fabric.gguf.GgufArray;
import dev.fabric.gguf.GgufFile;
import dev.fabric.gguf.GgufTensorInfo;
import dev.fabric.gguf.GgufValue;
import dev.fabric.gguf.GgufValueType;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** A GGUF the project wrote (an imatrix), read with the project's reader into an editable {@link RawGguf}. */
final class ReadBack {
    private ReadBack() {}

    static RawGguf read(Path file) throws IOException {
        RawGguf g = new RawGguf();
        try (GgufFile f = GgufFile.open(file)) {
            g.version = f.version();
            g.alignment = (int) f.alignment();
            for (String k : f.metadata().keys()) {
                if (k.equals(GgufFile.KEY_ALIGNMENT)) continue;
                GgufValue v = f.metadata().get(k);
                if (v.type() == GgufValueType.ARRAY) {
                    GgufArray a = (GgufArray) v.value();
                    List<Object> items = new ArrayList<>();
                    for (int i = 0; i < a.size(); i++) {
                        items.add(switch (a.elementType()) {
                            case STRING -> ((String[]) a.values())[i];
                            case FLOAT32, FLOAT64 -> a.getDouble(i);
                            case BOOL -> ((boolean[]) a.values())[i];
                            default -> a.getLong(i);
                        });
                    }
                    g.metadata.put(k, new RawGguf.Value(RawGguf.ARRAY, a.elementType().id(), items));
                } else {
                    Object o = switch (v.type()) {
                        case STRING, BOOL -> v.value();
                        case FLOAT32, FLOAT64 -> v.asDouble();
                        default -> v.asLong();
                    };
                    g.metadata.put(k, new RawGguf.Value(v.type().id(), -1, o));
                }
            }
            for (GgufTensorInfo t : f.tensors()) {
                ByteBuffer b = f.data(t).asByteBuffer();
                byte[] bytes = new byte[b.remaining()];
                b.get(bytes);
                g.tensors.add(new RawGguf.Tensor(t.name(), t.shape(), t.type().id(), bytes, null));
            }
        }
        return g;
    }
}
