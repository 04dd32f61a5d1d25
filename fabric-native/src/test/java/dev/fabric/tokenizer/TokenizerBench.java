package dev.fabric.tokenizer;

import dev.fabric.gguf.GgufFile;
import dev.fabric.gguf.GgufMetadata;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Random;

/**
 * Not a test: load and encode timings for the reference vocabularies. Run from the test classpath:
 * {@code java -cp ... dev.fabric.tokenizer.TokenizerBench [REF_DIR] [MEGABYTES]}. Two texts: imatrix/calib.txt
 * (English licence texts) repeated with a multilingual paragraph every 64 KB (the word cache hits), and
 * random words over Latin, Cyrillic and CJK letters (nearly every word new: the cache misses). Times are
 * wall clock and, in brackets, this thread's CPU time (the build machine is shared; CPU time is steadier).
 */
public final class TokenizerBench {
    private static final String UNICODE = "\nPatient: 患者血压偏高，建议复查。日本語のテキスト。한국어 문장입니다. "
            + "Ünïcödé café naïve résumé Ångström; αβγ δ Пациент здоров. 🩺💊🏥 👩\u200d⚕️ 🇩🇪 ٣٤٥ ௫ — “quotes” …\n";

    private static final ThreadMXBean MX = ManagementFactory.getThreadMXBean();

    private static long cpu() {
        return MX.getCurrentThreadCpuTime();
    }

    /** Random words of 1..12 letters from a mixed alphabet, separated by spaces and some punctuation. */
    static String randomWords(int chars) {
        String letters = "etaoinshrdlucmfwypvbgkqjxzабвгдежзийклмнопрстуфхцчшщ的一是不了人我在有他这中大来上国个到说们为子和你";
        Random r = new Random(1);
        StringBuilder sb = new StringBuilder(chars + 16);
        while (sb.length() < chars) {
            int n = 1 + r.nextInt(12);
            for (int k = 0; k < n; k++) sb.append(letters.charAt(r.nextInt(letters.length())));
            sb.append(r.nextInt(12) == 0 ? ". " : r.nextInt(40) == 0 ? "\n" : " ");
        }
        return sb.toString();
    }

    public static void main(String[] args) throws Exception {
        Path ref = Path.of(args.length > 0 ? args[0] : "../shared/ref");
        int mb = args.length > 1 ? Integer.parseInt(args[1]) : 10;
        String calib = Files.readString(ref.resolve("imatrix/calib.txt"), StandardCharsets.UTF_8);
        StringBuilder sb = new StringBuilder(mb << 20);
        while (sb.length() < (mb << 20)) {
            sb.append(calib, 0, Math.min(calib.length(), 65536)).append(UNICODE);
        }
        String text = sb.toString();
        String random = randomWords(text.length());
        int bytes = text.getBytes(StandardCharsets.UTF_8).length;
        int randomBytes = random.getBytes(StandardCharsets.UTF_8).length;
        System.out.printf("JVM %s, %d cores, load average %.1f; calib text %.1f MB UTF-8, random words %.1f MB%n",
                Runtime.version(), Runtime.getRuntime().availableProcessors(),
                ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage(), bytes / 1e6, randomBytes / 1e6);
        for (String name : RefVocabs.NAMES) {
            Path p = ref.resolve("models/ggml-vocab-" + name + ".gguf");
            Tokenizer tok = null;
            StringBuilder loads = new StringBuilder();
            for (int rep = 0; rep < 3; rep++) {
                long t0 = System.nanoTime(), c0 = cpu();
                GgufMetadata md;
                try (GgufFile f = GgufFile.open(p)) {
                    md = f.metadata();
                }
                long t1 = System.nanoTime();
                tok = Tokenizer.fromGguf(md);
                long t2 = System.nanoTime(), c2 = cpu();
                loads.append(String.format(" %.0f+%.0f (%.0f)", (t1 - t0) / 1e6, (t2 - t1) / 1e6, (c2 - c0) / 1e6));
            }
            System.out.printf("%-13s vocab %6d  load ms, gguf+tokenizer (cpu), 3 runs:%s%n", name, tok.vocabSize(), loads);
            for (int rep = 0; rep < 3; rep++) {
                String t = rep < 2 ? text : random;
                int b = rep < 2 ? bytes : randomBytes;
                long t0 = System.nanoTime(), c0 = cpu();
                int[] ids = tok.encode(t, true, false);
                long t1 = System.nanoTime(), c1 = cpu();
                double s = (t1 - t0) / 1e9;
                System.out.printf("  encode %-13s %8d tokens in %.2f s (cpu %.2f s)  %.1f MB/s%n",
                        new String[] {"calib, 1st:", "calib, 2nd:", "random words:"}[rep], ids.length, s, (c1 - c0) / 1e9, b / 1e6 / s);
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
