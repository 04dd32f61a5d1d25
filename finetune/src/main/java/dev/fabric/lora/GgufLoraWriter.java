package dev.fabric.lora;

import dev.fabric.gguf.GgmlType;
import dev.fabric.gguf.GgufMetadata;
import dev.fabric.gguf.GgufWriter;
import dev.fabric.gguf.TensorSpec;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes a LoRA as llama.cpp's adapter GGUF (training.md): {@code general.architecture} = the base's,
 * {@code general.type = adapter}, {@code adapter.type = lora}, {@code adapter.lora.alpha} (float32; alpha·√r for
 * rsLoRA), and per target {@code <base>.lora_a} (ne = [n_in, r]) and {@code <base>.lora_b} (ne = [r, n_out]) in
 * F32. Atomic: {@link GgufWriter} writes a temporary in the destination folder and renames it at the end.
 */
public final class GgufLoraWriter {
    private GgufLoraWriter() {}

    public static void write(Path out, LoraWeights w, String arch) throws IOException {
        GgufMetadata md = GgufMetadata.builder()
                .putString("general.architecture", arch)
                .putString("general.type", "adapter")
                .putString("adapter.type", "lora")
                .putF32("adapter.lora.alpha", w.config().ggufAlpha())
                .build();
        int r = w.config().rank();
        List<TensorSpec> specs = new ArrayList<>();
        for (LoraTarget t : w.targets()) {
            specs.add(new TensorSpec(t.ggufA(), new long[] {t.nIn(), r}, GgmlType.F32));
            specs.add(new TensorSpec(t.ggufB(), new long[] {r, t.nOut()}, GgmlType.F32));
        }
        try (GgufWriter gw = GgufWriter.create(out, md, specs, (int) dev.fabric.gguf.GgufFile.DEFAULT_ALIGNMENT)) {
            for (int i = 0; i < w.size(); i++) gw.writeTensor(i, littleEndian(w.value(i)));
            gw.finish();
        }
    }

    static ByteBuffer littleEndian(FloatBuffer f) {
        ByteBuffer b = ByteBuffer.allocate(Math.multiplyExact(f.capacity(), 4)).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0, n = f.capacity(); i < n; i++) b.putFloat(f.get(i));
        return b.flip();
    }
}
