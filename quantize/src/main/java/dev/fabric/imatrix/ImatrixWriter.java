package dev.fabric.imatrix;

import dev.fabric.gguf.GgmlType;
import dev.fabric.gguf.GgufMetadata;
import dev.fabric.gguf.GgufWriter;
import dev.fabric.gguf.TensorSpec;
import dev.fabric.io.SafeOutput;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;

/** Writes {@link ImatrixStats} in llama-imatrix's two formats (spec sections 5.2 and 5.3). */
public final class ImatrixWriter {
    private ImatrixWriter() {}

    /**
     * The GGUF imatrix: {@code general.type = imatrix}, the datasets, chunk count and size; per weight in plain
     * name order {@code <name>.in_sum2} (F32 [ne0]) then {@code <name>.counts} (F32 [1]). Dense weights only
     * (n_mat = 1), hence 1-D shapes as ggml_n_dims gives them.
     */
    public static void writeGguf(ImatrixStats s, Path out) throws IOException {
        writeGguf(s, out, List.of());
    }

    /** As {@link #writeGguf(ImatrixStats, Path)}, refusing an {@code out} that is one of {@code inputs}. */
    public static void writeGguf(ImatrixStats s, Path out, Collection<Path> inputs) throws IOException {
        GgufMetadata md = GgufMetadata.builder().putString("general.type", "imatrix")
                .putStringArray(ImatrixReader.KEY_DATASETS, s.datasets())
                .putU32(ImatrixReader.KEY_CHUNK_COUNT, s.chunkCount())
                .putU32(ImatrixReader.KEY_CHUNK_SIZE, s.chunkSize()).build();
        List<TensorSpec> specs = new ArrayList<>();
        List<float[]> data = new ArrayList<>();
        for (Map.Entry<String, float[]> e : s.sums().entrySet()) {
            specs.add(new TensorSpec(e.getKey() + ".in_sum2", new long[] {e.getValue().length}, GgmlType.F32));
            data.add(e.getValue());
            specs.add(new TensorSpec(e.getKey() + ".counts", new long[] {1}, GgmlType.F32));
            data.add(new float[] {(float) (long) s.counts().get(e.getKey())});
        }
        try (GgufWriter w = GgufWriter.create(out, inputs, md, specs, 32)) {
            try {
                for (int i = 0; i < specs.size(); i++) w.writeTensor(i, floats(data.get(i)));
            } catch (IOException e) {
                throw w.failure(e);
            }
            w.finish();
        }
    }

    /**
     * The legacy {@code .dat}: entry count; per entry (name order) the name, {@code ncall = ceil(count /
     * chunk_size)}, the value count and {@code (sum / count) * ncall} in float; then the chunk count and the
     * first dataset's name. Entries that saw no tokens are dropped, as llama-imatrix drops them.
     */
    public static void writeDat(ImatrixStats s, Path out) {
        writeDat(s, out, List.of());
    }

    /** As {@link #writeDat(ImatrixStats, Path)}, refusing an {@code out} that is one of {@code inputs}. */
    public static void writeDat(ImatrixStats s, Path out, Collection<Path> inputs) {
        List<String> names = new ArrayList<>();
        for (String n : s.sums().keySet()) if (s.counts().get(n) > 0) names.add(n);
        SafeOutput.write(out, inputs, file -> {
            OutputStream os = file.stream();
            ByteBuffer b = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
            b = put(os, b, 4).putInt(names.size());
            for (String n : names) {
                byte[] name = n.getBytes(StandardCharsets.UTF_8);
                float[] sum = s.sums().get(n);
                long count = s.counts().get(n);
                int ncall = (int) ((count + s.chunkSize() - 1) / s.chunkSize());
                b = put(os, b, 4 + name.length + 8).putInt(name.length).put(name).putInt(ncall).putInt(sum.length);
                for (float v : sum) b = put(os, b, 4).putFloat((v / (float) count) * ncall);
            }
            byte[] ds = (s.datasets().isEmpty() ? "" : s.datasets().get(0)).getBytes(StandardCharsets.UTF_8);
            b = put(os, b, 8 + ds.length).putInt(s.chunkCount()).putInt(ds.length).put(ds);
            os.write(b.array(), 0, b.position());
        });
    }

    /** Flushes b to os when fewer than n bytes are left (n must fit an empty buffer or the buffer grows). */
    private static ByteBuffer put(OutputStream os, ByteBuffer b, int n) throws IOException {
        if (b.remaining() >= n) return b;
        os.write(b.array(), 0, b.position());
        b.clear();
        if (b.capacity() < n) b = ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
        return b;
    }

    private static ByteBuffer floats(float[] v) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(v);
        return b;
    }
}
