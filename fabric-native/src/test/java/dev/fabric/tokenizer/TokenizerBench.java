package dev.fabric.tokenizer;

import dev.fabric.gguf.GgufFile;
import dev.fabric.gguf.GgufMetadata;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Not a test: load and encode timings for the reference vocabularies. Run from the test classpath:
 * {@code java -cp ... dev.fabric.tokenizer.TokenizerBench [REF_DIR] [MEGABYTES]}. The text is
 * imatrix/calib.txt (English licence texts) repeated, with a multilingual paragraph every 64 KB.
 */
public final class TokenizerBench {
    private static final String UNICODE = "\nPatient: 患者血压偏高，建议复查。日本語のテキスト。한국어 문장입니다. "
            + "Ünïcödé café naïve résumé Ångström; αβγ δ Пациент здоров. 🩺💊🏥 👩\u200d⚕️ 🇩🇪 ٣٤٥ ௫ — “quotes” …\n";

    public static void main(String[] args) throws Exception {
        Path ref = Path.of(args.length > 0 ? args[0] : "../shared/ref");
        int mb = args.length > 1 ? Integer.parseInt(args[1]) : 10;
        String calib = Files.readString(ref.resolve("imatrix/calib.txt"), StandardCharsets.UTF_8);
        StringBuilder sb = new StringBuilder(mb << 20);
        while (sb.length() < (mb << 20)) {
            sb.append(calib, 0, Math.min(calib.length(), 65536)).append(UNICODE);
        }
        String text = sb.toString();
        int bytes = text.getBytes(StandardCharsets.UTF_8).length;
        System.out.printf("JVM %s, %d cores; text %d chars, %.1f MB UTF-8%n", Runtime.version(),
                Runtime.getRuntime().availableProcessors(), text.length(), bytes / 1e6);
        for (String name : RefVocabs.NAMES) {
            Path p = ref.resolve("models/ggml-vocab-" + name + ".gguf");
            Tokenizer tok = null;
            StringBuilder loads = new StringBuilder();
            for (int rep = 0; rep < 3; rep++) {
                long t0 = System.nanoTime();
                GgufMetadata md;
                try (GgufFile f = GgufFile.open(p)) {
                    md = f.metadata();
                }
                long t1 = System.nanoTime();
                tok = Tokenizer.fromGguf(md);
                long t2 = System.nanoTime();
                loads.append(String.format(" %.0f+%.0f", (t1 - t0) / 1e6, (t2 - t1) / 1e6));
            }
            System.out.printf("%-13s vocab %6d  load ms (gguf+tokenizer, 3 runs):%s%n", name, tok.vocabSize(), loads);
            for (int rep = 0; rep < 2; rep++) {
                long t0 = System.nanoTime();
                int[] ids = tok.encode(text, true, false);
                long t1 = System.nanoTime();
                double s = (t1 - t0) / 1e9;
                System.out.printf("  encode %s: %8d tokens in %.2f s  (%.1f MB/s, %.2f M tokens/s)%n",
                        rep == 0 ? "cold cache" : "warm cache", ids.length, s, bytes / 1e6 / s, ids.length / 1e6 / s);
            }
            long t0 = System.nanoTime();
            Encoding enc = tok.encodeWithOffsets(text, true, false);
            long t1 = System.nanoTime();
            System.out.printf("  encodeWithOffsets: %.2f s;  ", (t1 - t0) / 1e9);
            t0 = System.nanoTime();
            String back = tok.decode(enc.ids(), false);
            t1 = System.nanoTime();
            System.out.printf("decode: %.2f s, round trip %s%n", (t1 - t0) / 1e9,
                    back.equals(text) ? "exact" : "DIFFERS");
        }
    }
}
