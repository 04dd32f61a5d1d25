package dev.fabric.imatrix;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fabric.FabricException;
import dev.fabric.gguf.GgufFile;
import dev.fabric.gguf.GgufTensorInfo;
import dev.fabric.testing.SharedRef;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Both imatrix formats written by llama-imatrix for the same run (shared/ref/imatrix). */
class ImatrixReaderTest {
    @TempDir
    Path tmp;

    @ParameterizedTest
    @ValueSource(strings = {"llama-spm-256x8-f16", "qwen3-micro-f16"})
    void ggufAndLegacyOfTheSameRunAgree(String model) throws IOException {
        Imatrix g = ImatrixReader.read(SharedRef.require("imatrix/" + model + ".imatrix.gguf"));
        Imatrix d = ImatrixReader.read(SharedRef.require("imatrix/" + model + ".imatrix.dat"));
        assertEquals(Imatrix.Format.GGUF, g.format());
        assertEquals(Imatrix.Format.LEGACY_DAT, d.format());
        assertEquals(g.entries().keySet(), d.entries().keySet());
        assertEquals(16, g.chunkCount(), "llama-imatrix ran --chunks 16");
        assertEquals(g.chunkCount(), d.chunkCount());
        assertEquals(g.datasets().get(0), d.datasets().get(0));
        assertTrue(g.datasets().get(0).endsWith("calib.txt"), g.datasets().toString());
        // The .dat stores mean*ncall, the GGUF sum and count; the weights agree to float rounding of the two routes.
        for (String k : g.entries().keySet()) {
            float[] a = g.get(k);
            float[] b = d.get(k);
            assertEquals(a.length, b.length, k);
            for (int i = 0; i < a.length; i++)
                assertEquals(a[i], b[i], Math.ulp(a[i]) * 2, k + "[" + i + "]");
        }
    }

    /** The GGUF weights are in_sum2 / count, computed here independently from the raw tensors. */
    @Test
    void ggufWeightsAreSumsOverCounts() throws IOException {
        Path f = SharedRef.require("imatrix/llama-spm-256x8-f16.imatrix.gguf");
        Imatrix m = ImatrixReader.read(f);
        try (GgufFile g = GgufFile.open(f)) {
            assertEquals(g.tensors().size(), 2 * m.size());
            for (GgufTensorInfo t : g.tensors()) {
                if (!t.name().endsWith(".in_sum2")) continue;
                String base = t.name().substring(0, t.name().length() - 8);
                float count = g.data(base + ".counts").asByteBuffer().order(ByteOrder.LITTLE_ENDIAN).getFloat(0);
                ByteBuffer s = g.data(t).asByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
                float[] w = m.get(base);
                assertEquals(t.ne(0), w.length);
                for (int i = 0; i < w.length; i++) assertEquals(s.getFloat(4 * i) / count, w[i], 0f, base);
            }
        }
    }

    @Test
    void includeAndExcludeFilterBySubstring() {
        Imatrix m = ImatrixReader.read(SharedRef.require("imatrix/llama-spm-256x8-f16.imatrix.gguf"));
        Imatrix ex = m.filter(List.of(), List.of("ffn_down", "attn_q"));
        assertTrue(ex.entries().keySet().stream().noneMatch(k -> k.contains("ffn_down") || k.contains("attn_q")));
        assertEquals(m.size() - 16, ex.size());
        Imatrix in = m.filter(List.of("blk.0.", "blk.1."), List.of());
        assertTrue(in.entries().keySet().stream().allMatch(k -> k.startsWith("blk.0.") || k.startsWith("blk.1.")));
        assertEquals(14, in.size());
        assertThrows(FabricException.class, () -> m.filter(List.of("a"), List.of("b")));
    }

    @Test
    void truncatedLegacyFileNamesTheEntryAndOffset() throws IOException {
        byte[] all = Files.readAllBytes(SharedRef.require("imatrix/qwen3-micro-f16.imatrix.dat"));
        Path cut = tmp.resolve("cut.dat");
        Files.write(cut, Arrays.copyOf(all, 700));
        var e = assertThrows(FabricException.class, () -> ImatrixReader.read(cut));
        assertTrue(e.getMessage().contains("truncated") && e.getMessage().contains("offset"), e.getMessage());
    }

    @Test
    void truncatedGgufImatrixIsReportedAsGguf() throws IOException {
        byte[] all = Files.readAllBytes(SharedRef.require("imatrix/qwen3-micro-f16.imatrix.gguf"));
        Path cut = tmp.resolve("cut.gguf");
        Files.write(cut, Arrays.copyOf(all, all.length / 2));
        var e = assertThrows(FabricException.class, () -> ImatrixReader.read(cut));
        assertTrue(e.getMessage().contains("cut.gguf"), e.getMessage());
    }

    @Test
    void aModelIsNotAnImatrix() {
        Path model = SharedRef.require("models/qwen3-micro-f16.gguf");
        var e = assertThrows(FabricException.class, () -> ImatrixReader.read(model));
        assertTrue(e.getMessage().contains("not an imatrix"), e.getMessage());
    }

    @Test
    void legacyHandWrittenFile() throws IOException {
        // n=1; "a.weight", ncall 4, 2 values {8, 2}; trailer chunks 3, dataset "d.txt"
        ByteBuffer b = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(1).putInt(8).put("a.weight".getBytes(StandardCharsets.UTF_8)).putInt(4).putInt(2);
        b.putFloat(8f).putFloat(2f).putInt(3).putInt(5).put("d.txt".getBytes(StandardCharsets.UTF_8));
        Path f = tmp.resolve("h.dat");
        Files.write(f, Arrays.copyOf(b.array(), b.position()));
        Imatrix m = ImatrixReader.read(f);
        assertEquals(List.of("a.weight"), List.copyOf(m.entries().keySet()));
        assertEquals(2f, m.get("a.weight")[0]);
        assertEquals(0.5f, m.get("a.weight")[1]);
        assertEquals(3, m.chunkCount());
        assertEquals(List.of("d.txt"), m.datasets());
    }

    @Test
    void nonFiniteWeightsAreRefused() throws IOException {
        ByteBuffer b = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(1).putInt(1).put((byte) 'x').putInt(1).putInt(2).putFloat(1f).putFloat(Float.NaN);
        Path f = tmp.resolve("nan.dat");
        Files.write(f, Arrays.copyOf(b.array(), b.position()));
        var e = assertThrows(FabricException.class, () -> ImatrixReader.read(f).requireFinite());
        assertTrue(e.getMessage().contains("'x'") && e.getMessage().contains("index 1"), e.getMessage());
    }
}
