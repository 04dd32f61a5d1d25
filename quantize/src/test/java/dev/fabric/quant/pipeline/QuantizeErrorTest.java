package dev.fabric.quant.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fabric.FabricException;
import dev.fabric.gguf.GgmlType;
import dev.fabric.gguf.GgufFile;
import dev.fabric.gguf.GgufMetadata;
import dev.fabric.gguf.GgufWriter;
import dev.fabric.gguf.TensorSpec;
import dev.fabric.quant.preset.Preset;
import dev.fabric.testing.SharedRef;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/** Failures a user can cause: each gives a message naming what is wrong and leaves no file at OUT, nor a temp. */
class QuantizeErrorTest {
    @TempDir
    Path dir;

    private static Path llama() {
        return SharedRef.require("models/llama-spm-256x8-f16.gguf");
    }

    /** Runs {@code run}, expects a FabricException whose message has every fragment, and a folder left clean. */
    private FabricException refuses(Executable run, String... fragments) throws IOException {
        List<Path> before = list();
        FabricException e = assertThrows(FabricException.class, run);
        for (String f : fragments) assertTrue(e.getMessage().contains(f), "'" + f + "' not in: " + e.getMessage());
        assertEquals(before, list(), "files left behind");
        return e;
    }

    private List<Path> list() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.sorted().toList();
        }
    }

    private Path out() {
        return dir.resolve("out.gguf");
    }

    @Test
    void imatrixOfAnotherModelIsRefusedNamingTheTensor() throws IOException {
        Path im = SharedRef.require("imatrix/qwen3-micro-f16.imatrix.gguf");
        var req = QuantizeRequest.of(llama(), out(), Preset.Q4_K_M).withThreads(2).withImatrix(im, im.toString());
        refuses(() -> QuantizePipeline.run(req, QuantizeListener.NONE),
                "blk.0.attn_k.weight", "64 weights", "256 columns", "different model");
    }

    @Test
    void truncatedImatrixIsRefused() throws IOException {
        for (String f : List.of("llama-spm-256x8-f16.imatrix.gguf", "llama-spm-256x8-f16.imatrix.dat")) {
            byte[] all = Files.readAllBytes(SharedRef.require("imatrix/" + f));
            Path cut = Files.createTempFile("cut", f);
            try {
                Files.write(cut, Arrays.copyOf(all, all.length - 1000));
                var req = QuantizeRequest.of(llama(), out(), Preset.Q4_K_M).withImatrix(cut, cut.toString());
                refuses(() -> QuantizePipeline.run(req, QuantizeListener.NONE), cut.getFileName().toString());
            } finally {
                Files.delete(cut);
            }
        }
    }

    /** A 2-D tensor of a type that has no converter (here I32) cannot be quantized; the message names it. */
    @Test
    void unsupportedInputTypeIsRefused() throws IOException {
        Path model = Files.createTempFile("i32", ".gguf");
        try {
            GgufMetadata md = GgufMetadata.builder().putString("general.architecture", "llama")
                    .putU32("llama.block_count", 1).build();
            List<TensorSpec> specs = List.of(new TensorSpec("blk.0.attn_q.weight", new long[] {256, 4}, GgmlType.I32));
            try (GgufWriter w = GgufWriter.create(model, md, specs, 32)) {
                w.writeTensor(0, ByteBuffer.allocate(4096));
                w.finish();
            }
            var req = QuantizeRequest.of(model, out(), Preset.Q4_K_M).withAllowRequantize(true);
            refuses(() -> QuantizePipeline.run(req, QuantizeListener.NONE), "blk.0.attn_q.weight", "I32");
        } finally {
            Files.delete(model);
        }
    }

    @Test
    void quantizedInputNeedsAllowRequantize() throws IOException {
        Path q4 = SharedRef.require("quant/llama-spm-256x8-f16.Q4_K_M.gguf");
        var req = QuantizeRequest.of(q4, out(), Preset.Q8_0).withThreads(2);
        refuses(() -> QuantizePipeline.run(req, QuantizeListener.NONE), "already quantized", "--allow-requantize");
    }

    /**
     * With --allow-requantize a Q4_K tensor is dequantized, then requantized: every Q8_0 value lies within half
     * a Q8_0 step (amax/127/2 per block of 32) plus the scale's fp16 rounding of the Q4_K value it came from.
     */
    @Test
    void requantizeDequantizesFirst() throws IOException {
        Path q4 = SharedRef.require("quant/llama-spm-256x8-f16.Q4_K_M.gguf");
        QuantizePipeline.run(QuantizeRequest.of(q4, out(), Preset.Q8_0).withThreads(2).withAllowRequantize(true),
                QuantizeListener.NONE);
        try (GgufFile a = GgufFile.open(q4); GgufFile b = GgufFile.open(out())) {
            var ta = a.tensor("blk.3.attn_q.weight");
            var tb = b.tensor("blk.3.attn_q.weight");
            assertEquals(GgmlType.Q4_K, ta.type());
            assertEquals(GgmlType.Q8_0, tb.type());
            float[] x = dev.fabric.quant.Quantizer.dequantize(dev.fabric.gguf.GgmlType.Q4_K,
                    bytes(a.data(ta).asByteBuffer()), ta.ne(1), ta.ne(0), 1);
            float[] y = dev.fabric.quant.Quantizer.dequantize(dev.fabric.gguf.GgmlType.Q8_0,
                    bytes(b.data(tb).asByteBuffer()), tb.ne(1), tb.ne(0), 1);
            for (int blk = 0; blk < x.length / 32; blk++) {
                float amax = 0;
                for (int i = 0; i < 32; i++) amax = Math.max(amax, Math.abs(x[32 * blk + i]));
                // half a step, plus the fp16 rounding of the scale (relative 2^-11) times at most 127 steps
                float tol = amax / 127 * 0.5f + amax / 2048 + 1e-7f;
                for (int i = 0; i < 32; i++)
                    assertEquals(x[32 * blk + i], y[32 * blk + i], tol, "element " + (32 * blk + i) + " amax " + amax);
            }
        }
    }

    private static byte[] bytes(ByteBuffer b) {
        byte[] a = new byte[b.remaining()];
        b.duplicate().get(a);
        return a;
    }

    @Test
    void unwritableOutputIsRefusedUpFront() throws IOException {
        Path llama = llama();   // outside the lambdas: a missing ref folder must skip the test, not satisfy assertThrows
        refuses(() -> QuantizePipeline.run(QuantizeRequest.of(llama, dir.resolve("no/such/dir/out.gguf"),
                Preset.Q8_0), QuantizeListener.NONE), "does not exist");
        Files.writeString(dir.resolve("plain.txt"), "x");
        refuses(() -> QuantizePipeline.run(QuantizeRequest.of(llama, dir.resolve("plain.txt/out.gguf"),
                Preset.Q8_0), QuantizeListener.NONE), "out.gguf");
        Files.delete(dir.resolve("plain.txt"));
        // /proc takes no new files, not even from root
        var e = refuses(() -> QuantizePipeline.run(QuantizeRequest.of(llama, Path.of("/proc/fabric-out.gguf"),
                Preset.Q8_0), QuantizeListener.NONE), "/proc/fabric-out.gguf");
        assertEquals(FabricException.EXIT_IO, e.exitCode());
        assertTrue(!Files.exists(Path.of("/proc/fabric-out.gguf")));
    }

    @Test
    void outputOverTheInputIsRefused() throws IOException {
        Path copy = dir.resolve("in.gguf");
        Files.copy(llama(), copy);
        byte[] before = Files.readAllBytes(copy);
        refuses(() -> QuantizePipeline.run(QuantizeRequest.of(copy, copy, Preset.Q8_0), QuantizeListener.NONE),
                "is the same file as the input");
        assertArrayEquals(before, Files.readAllBytes(copy));
    }

    /** A disk that fills up mid-file: the error says so, and neither OUT nor the temporary file remains. */
    @Test
    void diskFullLeavesNothingBehind() throws IOException {
        var req = QuantizeRequest.of(llama(), out(), Preset.Q4_K_M).withThreads(2);
        QuantizePipeline.WriteHook full = (i, written, bytes) -> {
            if (written + bytes > 3_000_000) throw new IOException("No space left on device");
        };
        var e = refuses(() -> QuantizePipeline.run(req, QuantizeListener.NONE, full),
                "No space left on device", out().toString());
        assertEquals(FabricException.EXIT_IO, e.exitCode());
    }

    /** A failed run leaves an existing OUT exactly as it was (the new file only replaces it when complete). */
    @Test
    void failedRunKeepsAnExistingOutput() throws IOException {
        Files.writeString(out(), "previous result");
        var req = QuantizeRequest.of(llama(), out(), Preset.Q4_K_M).withThreads(2);
        refuses(() -> QuantizePipeline.run(req, QuantizeListener.NONE, (i, w, b) -> {
            if (i == 10) throw new IOException("No space left on device");
        }), "No space left on device");
        assertEquals("previous result", Files.readString(out()));
    }

    /** llama-quantize stops mid-write here and leaves a partial file (shared/ref README); we refuse before writing. */
    @Test
    void rowsWithoutFallbackAreRefusedBeforeWriting() throws IOException {
        Path stories = SharedRef.require("engine/stories260K.gguf");
        refuses(() -> QuantizePipeline.run(QuantizeRequest.of(stories, out(), Preset.Q8_0), QuantizeListener.NONE),
                "blk.0.ffn_down.weight", "172", "Q8_0");
    }

    @Test
    void missingInputIsNamed() throws IOException {
        refuses(() -> QuantizePipeline.run(QuantizeRequest.of(dir.resolve("nope.gguf"), out(), Preset.Q8_0),
                QuantizeListener.NONE), "nope.gguf", "does not exist");
    }

    /** The bench entry point times a full run and cleans up after itself. */
    @Test
    void benchRunLeavesNoFile() throws IOException {
        Path in = SharedRef.require("models/qwen3-micro-f16.gguf");
        QuantizeResult r = QuantizePipeline.bench(QuantizeRequest.of(in, out(), Preset.Q8_0).withThreads(2), dir);
        assertTrue(r.seconds() > 0 && r.fileSize() > 0, r.toString());
        assertEquals(24, r.total().tensors());
        assertEquals(List.of(), list());
    }

    @Test
    void splitShardIsRefused() throws IOException {
        Path model = Files.createTempFile("shard", ".gguf");
        try {
            GgufMetadata md = GgufMetadata.builder().putString("general.architecture", "llama")
                    .putU32("llama.block_count", 1).putU16("split.no", 0).putU16("split.count", 3).build();
            List<TensorSpec> specs = List.of(new TensorSpec("blk.0.attn_q.weight", new long[] {256, 4}, GgmlType.F32));
            try (GgufWriter w = GgufWriter.create(model, md, specs, 32)) {
                w.writeTensor(0, ByteBuffer.allocate(4096));
                w.finish();
            }
            refuses(() -> QuantizePipeline.run(QuantizeRequest.of(model, out(), Preset.Q4_K_M), QuantizeListener.NONE),
                    "shard 1 of a model split into 3 files");
        } finally {
            Files.delete(model);
        }
    }
}
