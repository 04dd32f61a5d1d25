package dev.fabric.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fabric.gguf.GgufFile;
import dev.fabric.gguf.GgufTensorInfo;
import dev.fabric.imatrix.Imatrix;
import dev.fabric.imatrix.ImatrixReader;
import dev.fabric.quant.pipeline.QuantizeListener;
import dev.fabric.quant.pipeline.QuantizePipeline;
import dev.fabric.quant.pipeline.QuantizeRequest;
import dev.fabric.quant.preset.Preset;
import dev.fabric.testing.RefParity;
import dev.fabric.testing.SharedRef;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code fabric imatrix} against llama-imatrix's files for the same model, text and settings (shared/ref/imatrix).
 * Our forward pass follows the arithmetic of llama.cpp's CPU build for this kind of machine (x86 with AVX-512),
 * so the statistics are bit for bit the reference's: every sum of squares and count, and the Q4_K_M bytes that
 * our quantizer makes from our file equal those it makes from llama-imatrix's. Other kernel variants (as llama.cpp's
 * own builds for other CPUs) sum in other valid orders: there the sums agree within the bounds of {@link RefParity}.
 */
class ImatrixCommandTest {
    @TempDir
    Path dir;

    /** Raw in_sum2 / counts tensors of a GGUF imatrix, by tensor name. */
    private static Map<String, float[]> raw(Path p) throws Exception {
        Map<String, float[]> m = new TreeMap<>();
        try (GgufFile g = GgufFile.open(p)) {
            for (GgufTensorInfo t : g.tensors()) {
                var fb = g.data(t).asByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
                float[] v = new float[fb.remaining()];
                fb.get(v);
                m.put(t.name(), v);
            }
        }
        return m;
    }

    /**
     * Asserts that every tensor of {@code ours} has the reference's exact bits (with the AVX-512 kernels, whose
     * arithmetic made the references; elsewhere the sums within {@link RefParity#IMATRIX_WORST} relative, their
     * median within {@link RefParity#IMATRIX_MEDIAN}) and returns the largest relative difference.
     */
    private static double compare(Path ours, Path ref) throws Exception {
        Map<String, float[]> a = raw(ours), b = raw(ref);
        assertEquals(b.keySet(), a.keySet(), "entries");
        double worst = 0;
        List<Double> all = new ArrayList<>();
        for (var e : b.entrySet()) {
            float[] x = a.get(e.getKey()), y = e.getValue();
            assertEquals(y.length, x.length, e.getKey());
            if (e.getKey().endsWith(".counts") || exact()) {
                assertArrayEquals(y, x, e.getKey());
                continue;
            }
            for (int i = 0; i < y.length; i++) {
                double rel = y[i] == 0 ? Math.abs(x[i]) : Math.abs(x[i] - y[i]) / Math.abs(y[i]);
                worst = Math.max(worst, rel);
                all.add(rel);
            }
        }
        assertTrue(worst < RefParity.IMATRIX_WORST, "max relative error " + worst);
        if (!all.isEmpty()) {
            all.sort(null);
            double median = all.get(all.size() / 2);
            assertTrue(median < RefParity.IMATRIX_MEDIAN, "median relative error " + median);
        }
        return worst;
    }

    /** Whether this CPU runs the kernels whose arithmetic matches the build that made shared/ref. */
    private static boolean exact() {
        return RefParity.exact();
    }

    private Path collect(String model, String text, int ctx, int chunks, String out, String... extra) {
        Path o = dir.resolve(out);
        List<String> args = new ArrayList<>(List.of("imatrix", "-m", SharedRef.require(model).toString(), "-f",
                SharedRef.require(text).toString(), "-o", o.toString(), "-c", "" + ctx, "--chunks", "" + chunks));
        args.addAll(List.of(extra));
        Run r = Run.of(args.toArray(String[]::new));
        assertEquals(0, r.rc(), r.err());
        return o;
    }

    @Test
    void llamaSpm_matchesLlamaImatrix_andQuantizesAlike() throws Exception {
        Path ours = collect("models/llama-spm-256x8-f16.gguf", "imatrix/calib.txt", 128, 16, "ours.imatrix.gguf");
        Path ref = SharedRef.require("imatrix/llama-spm-256x8-f16.imatrix.gguf");
        double worst = compare(ours, ref);
        System.out.printf("llama-spm-256x8 imatrix: max relative error of the sums %.3e%n", worst);
        try (GgufFile g = GgufFile.open(ours); GgufFile r = GgufFile.open(ref)) {
            assertEquals(16, g.metadata().getInt("imatrix.chunk_count"));
            assertEquals(128, g.metadata().getInt("imatrix.chunk_size"));
            // same keys in the same order; only imatrix.datasets (the -f path) may differ
            assertEquals(List.copyOf(r.metadata().keys()), List.copyOf(g.metadata().keys()));
        }
        quantizesAlike(SharedRef.require("models/llama-spm-256x8-f16.gguf"), ours, ref, "spm");
    }

    @Test
    void legacyDat_matchesLlamaImatrixDat() throws Exception {
        Path ours = collect("models/llama-spm-256x8-f16.gguf", "imatrix/calib.txt", 128, 16, "ours.dat", "--no-ppl");
        Path refDat = SharedRef.require("imatrix/llama-spm-256x8-f16.imatrix.dat");
        byte[] ourBytes = java.nio.file.Files.readAllBytes(ours), refBytes = java.nio.file.Files.readAllBytes(refDat);
        // the file up to its trailer (chunk count, then the length and text of the -f path) byte for byte
        int trailer = datTrailer(refBytes);
        assertEquals(trailer, datTrailer(ourBytes), "entry section length");
        if (exact()) assertArrayEquals(java.util.Arrays.copyOf(refBytes, trailer), java.util.Arrays.copyOf(ourBytes, trailer));
        Imatrix a = ImatrixReader.read(ours), b = ImatrixReader.read(refDat);
        assertEquals(Imatrix.Format.LEGACY_DAT, a.format());
        assertEquals(b.entries().keySet(), a.entries().keySet());
        assertEquals(b.chunkCount(), a.chunkCount());
        for (String n : b.entries().keySet()) {
            float[] x = a.get(n), y = b.get(n);
            for (int i = 0; i < y.length; i++)
                assertEquals(y[i], x[i], RefParity.IMATRIX_WORST * Math.abs(y[i]), n + "[" + i + "]");
        }
    }

    /** Offset of the legacy file's trailer: after n_entries and each (name length, name, ncall, nval, values). */
    private static int datTrailer(byte[] f) {
        ByteBuffer b = ByteBuffer.wrap(f).order(ByteOrder.LITTLE_ENDIAN);
        int n = b.getInt();
        for (int i = 0; i < n; i++) {
            int nameLength = b.getInt();
            b.position(b.position() + nameLength + 4);
            int nval = b.getInt();
            b.position(b.position() + 4 * nval);
        }
        return b.position();
    }

    @Test
    @Tag("parity-small")  // also run with the portable kernels (pom: parity-generic)
    void stories260K_matchesLlamaImatrix() throws Exception {
        Path ours = collect("engine/stories260K.gguf", "engine/story.txt", 64, 6, "stories.imatrix.gguf");
        double worst = compare(ours, SharedRef.require("imatrix/stories260K.imatrix.gguf"));
        System.out.printf("stories260K imatrix: max relative error of the sums %.3e%n", worst);
    }

    /**
     * --in-file adds earlier files as llama-imatrix does: GGUF sums and counts as stored, a legacy .dat's values
     * and ncall times the chunk size (-c, default 512); datasets listed in order; chunk count = largest count / -c.
     * Checked against that arithmetic done here on the files' own numbers.
     */
    @Test
    void inFiles_combineAsLlamaImatrix() throws Exception {
        Path gguf = SharedRef.require("imatrix/llama-spm-256x8-f16.imatrix.gguf");
        Path dat = SharedRef.require("imatrix/llama-spm-256x8-f16.imatrix.dat");
        Path out = dir.resolve("combined.gguf");
        Run r = Run.of("imatrix", "-m", SharedRef.require("models/llama-spm-256x8-f16.gguf").toString(), "--in-file",
                dat.toString(), "--in-file", gguf.toString(), "-o", out.toString());
        assertEquals(0, r.rc(), r.err());
        Map<String, float[]> got = raw(out), ref = raw(gguf);
        var legacy = dev.fabric.imatrix.LegacyImatrixReader.readStats(dat);
        long maxCount = 0;
        for (String name : legacy.sums().keySet()) {
            float[] want = legacy.sums().get(name).clone(), g = ref.get(name + ".in_sum2");
            for (int j = 0; j < want.length; j++) want[j] = want[j] * 512 + g[j];
            assertArrayEquals(want, got.get(name + ".in_sum2"), name);
            long count = legacy.counts().get(name) * 512 + (long) ref.get(name + ".counts")[0];
            assertEquals(count, (long) got.get(name + ".counts")[0], name);
            maxCount = Math.max(maxCount, count);
        }
        try (GgufFile g = GgufFile.open(out); GgufFile f = GgufFile.open(gguf)) {
            assertEquals(maxCount / 512, g.metadata().getInt("imatrix.chunk_count"));
            assertEquals(512, g.metadata().getInt("imatrix.chunk_size"));
            List<String> datasets = new ArrayList<>(legacy.datasets());
            datasets.addAll(f.metadata().getStringArray("imatrix.datasets"));
            assertEquals(datasets, g.metadata().getStringArray("imatrix.datasets"));
        }

        // continuing a run: the new rows are added to the loaded sums
        Path cont = collect("models/llama-spm-256x8-f16.gguf", "imatrix/calib.txt", 128, 16, "cont.gguf", "--no-ppl",
                "--in-file", gguf.toString());
        Map<String, float[]> c = raw(cont);
        for (var e : ref.entrySet()) {
            float[] twice = c.get(e.getKey());
            for (int j = 0; j < twice.length; j++)
                // float sums; where not exact, our half differs from the reference's as compare() allows
                assertEquals(2 * e.getValue()[j], twice[j],
                        (exact() ? 1e-4 : RefParity.IMATRIX_WORST) * Math.abs(e.getValue()[j]), e.getKey());
        }
        try (GgufFile g = GgufFile.open(cont)) {
            assertEquals(32, g.metadata().getInt("imatrix.chunk_count"));
        }

        // an imatrix of another model is refused, naming the file and the entry
        Run bad = Run.of("imatrix", "-m", SharedRef.require("models/llama-spm-256x8-f16.gguf").toString(), "--in-file",
                gguf.toString(), "--in-file", SharedRef.require("imatrix/qwen3-micro-f16.imatrix.gguf").toString(),
                "-o", dir.resolve("bad.gguf").toString());
        assertEquals(3, bad.rc(), bad.err());
        assertTrue(bad.err().contains("qwen3-micro-f16.imatrix.gguf") && bad.err().contains("blk.0.attn_k.weight"), bad.err());
        assertTrue(!java.nio.file.Files.exists(dir.resolve("bad.gguf")));
    }

    /** Tensors that differ, bytes that differ, bytes in all. */
    private static long[] differences(Map<String, ByteBuffer> a, Map<String, ByteBuffer> b) {
        assertEquals(b.keySet(), a.keySet());
        long tensors = 0, bytes = 0, diff = 0;
        for (String n : b.keySet()) {
            ByteBuffer x = a.get(n), y = b.get(n);
            if (!x.equals(y)) tensors++;
            for (int i = 0; i < y.limit(); i++) if (x.get(i) != y.get(i)) diff++;
            bytes += y.limit();
        }
        return new long[] {tensors, diff, bytes};
    }

    @Test
    void qwen3Micro_matchesLlamaImatrix() throws Exception {
        Path ours = collect("models/qwen3-micro-f16.gguf", "imatrix/calib.txt", 128, 16, "qwen3.imatrix.gguf", "--no-ppl");
        Path ref = SharedRef.require("imatrix/qwen3-micro-f16.imatrix.gguf");
        double worst = compare(ours, ref);
        System.out.printf("qwen3-micro imatrix: max relative error of the sums %.3e%n", worst);
        quantizesAlike(SharedRef.require("models/qwen3-micro-f16.gguf"), ours, ref, "qwen3");
    }

    /**
     * Q4_K_M from our imatrix against Q4_K_M from the reference imatrix: every tensor's bytes equal where the
     * sums are exact. Elsewhere the k-quant scale search, sensitive to the last bits of its weights, may pick
     * other scales in a few blocks: then fewer than 1 byte in 2,000 may differ, against about 1 in 10 without
     * an imatrix (a wrong imatrix changes most bytes).
     */
    private void quantizesAlike(Path model, Path ours, Path ref, String tag) throws Exception {
        long[] d = differences(quantize(model, ours, tag + "-a.gguf"), quantize(model, ref, tag + "-b.gguf"));
        System.out.printf("%s Q4_K_M with our imatrix: %d tensors, %d of %d bytes differ from the reference's%n", tag,
                d[0], d[1], d[2]);
        if (exact()) assertEquals(0, d[1], "bytes that differ");
        else assertTrue(d[1] * 2_000 < d[2], d[1] + " bytes differ");
    }

    private Map<String, ByteBuffer> quantize(Path model, Path imatrix, String out) throws Exception {
        Path o = dir.resolve(out);
        QuantizeRequest req = QuantizeRequest.of(model, o, Preset.Q4_K_M).withThreads(1);
        QuantizePipeline.run(imatrix == null ? req : req.withImatrix(imatrix, "im"), QuantizeListener.NONE);
        Map<String, ByteBuffer> m = new TreeMap<>();
        try (GgufFile g = GgufFile.open(o)) {
            for (GgufTensorInfo t : g.tensors()) {
                ByteBuffer src = g.data(t).asByteBuffer();
                ByteBuffer copy = ByteBuffer.allocate(src.remaining());
                copy.put(src).flip();
                m.put(t.name(), copy);
            }
        }
        return m;
    }
}
