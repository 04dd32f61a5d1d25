package dev.fabric.quant.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import dev.fabric.gguf.GgufFile;
import dev.fabric.gguf.GgufTensorInfo;
import dev.fabric.quant.preset.Preset;
import dev.fabric.quant.preset.RefManifest;
import dev.fabric.quant.preset.RefManifest.RefOutput;
import dev.fabric.quant.preset.RefManifest.RefTensor;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Byte parity with llama-quantize: every output in shared/ref/quant/manifest.json (both synthetic models and the
 * TinyStories model, every preset, with and without the imatrix) is rebuilt with 2 threads and its whole-file
 * SHA-256 compared. A mismatch is explained tensor by tensor (type, shape or data), or as a header difference.
 */
class QuantizeParityTest {
    @TempDir
    static Path tmp;

    /** model -> preset[.imat] -> "ok" or the reason: printed as the parity table. */
    private static final Map<String, Map<String, String>> TABLE = new ConcurrentSkipListMap<>();

    static Stream<RefOutput> outputs() {
        return RefManifest.outputs().stream();
    }

    static QuantizeRequest request(RefOutput ref, Path out, int threads) {
        QuantizeRequest r = QuantizeRequest.of(ref.inputModel(), out, Preset.parse(ref.preset())).withThreads(threads);
        // the reference runs were given the imatrix by its bare file name, which the output records verbatim
        if (ref.imatrix()) r = r.withImatrix(ref.imatrixFile(), ref.imatrixFile().getFileName().toString());
        return r;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("outputs")
    void fileIsByteIdenticalToLlamaQuantize(RefOutput ref) throws IOException {
        Path out = tmp.resolve(ref.file());
        QuantizeResult r = QuantizePipeline.run(request(ref, out, 2), QuantizeListener.NONE);
        String sha = sha256(out);
        assertEquals(ref.size(), r.fileSize(), "file size in the summary");
        assertEquals(ref.tensors().size(), r.total().tensors());
        String verdict = sha.equals(ref.sha256()) ? "ok" : explain(ref, out);
        TABLE.computeIfAbsent(ref.model(), k -> new TreeMap<>()).put(ref.preset() + (ref.imatrix() ? ".imat" : ""),
                verdict);
        Files.delete(out);
        if (!verdict.equals("ok")) fail(ref.file() + ": " + verdict);
    }

    @Test
    void bytesDoNotDependOnTheThreadCount() throws IOException {
        RefOutput ref = RefManifest.outputs().stream()
                .filter(o -> o.file().equals("llama-spm-256x8-f16.Q4_K_M.imat.gguf")).findFirst().orElseThrow();
        List<String> shas = new ArrayList<>();
        for (int threads : new int[] {1, 3}) {
            Path out = tmp.resolve("threads" + threads + ".gguf");
            QuantizePipeline.run(request(ref, out, threads), QuantizeListener.NONE);
            shas.add(sha256(out));
            Files.delete(out);
        }
        assertEquals(List.of(ref.sha256(), ref.sha256()), shas, "1 and 3 threads");
    }

    @AfterAll
    static void printTable() {
        if (TABLE.isEmpty()) return;
        StringBuilder b = new StringBuilder("\nllama-quantize parity (whole-file SHA-256):\n");
        for (var m : TABLE.entrySet()) {
            long ok = m.getValue().values().stream().filter("ok"::equals).count();
            b.append(String.format("%-22s %d/%d match%n", m.getKey(), ok, m.getValue().size()));
            for (var e : m.getValue().entrySet())
                b.append(String.format("    %-14s %s%n", e.getKey(), e.getValue()));
        }
        System.out.println(b);
    }

    /** Which tensors differ from the manifest (type, shape or data), or that only the header does. */
    private static String explain(RefOutput ref, Path out) throws IOException {
        List<String> diffs = new ArrayList<>();
        try (GgufFile g = GgufFile.open(out)) {
            List<GgufTensorInfo> ts = g.tensors();
            if (ts.size() != ref.tensors().size())
                diffs.add(ts.size() + " tensors, expected " + ref.tensors().size());
            for (int i = 0; i < Math.min(ts.size(), ref.tensors().size()); i++) {
                GgufTensorInfo t = ts.get(i);
                RefTensor r = ref.tensors().get(i);
                if (!t.name().equals(r.name())) diffs.add("#" + i + " is " + t.name() + ", expected " + r.name());
                else if (t.type() != r.type()) diffs.add(t.name() + " type " + t.type() + " vs " + r.type());
                else if (!Arrays.equals(t.shape(), r.shape()))
                    diffs.add(t.name() + " shape " + Arrays.toString(t.shape()) + " vs " + Arrays.toString(r.shape()));
                else if (!sha256(g.data(t).asByteBuffer()).equals(r.sha256())) diffs.add(t.name() + " data");
            }
        }
        if (diffs.isEmpty()) return "header differs (metadata/tensor infos); all tensor data match";
        return diffs.size() + " differ: " + String.join(", ", diffs.subList(0, Math.min(6, diffs.size())))
                + (diffs.size() > 6 ? ", ..." : "");
    }

    static String sha256(Path f) throws IOException {
        MessageDigest md = digest();
        try (InputStream in = Files.newInputStream(f)) {
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0; ) md.update(buf, 0, n);
        }
        return HexFormat.of().formatHex(md.digest());
    }

    static String sha256(ByteBuffer b) {
        MessageDigest md = digest();
        md.update(b.duplicate());
        return HexFormat.of().formatHex(md.digest());
    }

    private static MessageDigest digest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
