package dev.fabric.e2e.hostile;

import dev.fabric.cli.Main;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;
import picocli.CommandLine;

/**
 * Runs {@code fabric} commands in-process on hostile inputs and checks what every such run must satisfy:
 * <ul>
 * <li>exit code 0 (only where the input may be acceptable), 2 (usage), 3 (bad input) or 4 (I/O): never 1, 70, a
 * crash or a hang; non-zero where the case is known bad;</li>
 * <li>no stack trace and no "internal error" on stderr; a non-zero exit names the culprit (file, key or option);</li>
 * <li>every input file unchanged (SHA-256 before and after) and no new file beside it;</li>
 * <li>nothing left in the output folder after a failure (no temp files), and after a success only the outputs named
 * on the command line;</li>
 * <li>memory bounded: the suite runs under a modest heap (see the module's surefire -Xmx) and an
 * OutOfMemoryError fails the case; the peak heap of every run is recorded.</li>
 * </ul>
 * Violations are collected (not thrown) so that one run reports them all.
 */
final class Harness {
    enum Expect { FAIL, ANY }

    static final String OUT = "{OUT}";
    private static final long TIMEOUT_S = 60;

    final Path root;
    final List<String> failures = new ArrayList<>();
    final Map<String, Integer> runsByCommand = new LinkedHashMap<>();
    final Map<String, Integer> casesByCategory = new LinkedHashMap<>();
    int runs, rejected;
    long peakHeap;
    private int outCounter;
    private final ExecutorService exec = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "hostile-cli");
        t.setDaemon(true);
        return t;
    });
    private final Map<Path, String> fixtureHashes = new LinkedHashMap<>();
    private CommandLine cl;
    private final boolean reuse;

    Harness(Path root) {
        this(root, false);
    }

    /**
     * {@code reuse}: run every command on one command line (for the large GGUF categories; building one costs
     * ~50 ms). A subcommand's own usage errors (picocli's ParameterException) are not captured from a reused one,
     * so the option cases use a fresh command line per run.
     */
    Harness(Path root, boolean reuse) {
        this.root = root;
        this.reuse = reuse;
    }

    /** Files whose hash every run re-checks (the shared fixtures). */
    void protect(Path... files) throws IOException {
        for (Path f : files) fixtureHashes.put(f, sha256(f));
    }

    record Result(int rc, String out, String err) {}

    /**
     * Runs one invocation. {@code culprits}: strings of which the error message must contain at least one (the bad
     * file's name, the key, the option). {@code inputs}: the case's own files (their hashes and folders are
     * checked). Occurrences of {@link #OUT} in {@code args} become a fresh output folder.
     */
    Result check(String category, String caseName, Expect expect, List<String> culprits, List<Path> inputs, String... args) {
        Path out = root.resolve("out-" + (outCounter++));
        String[] argv = new String[args.length];
        try {
            Files.createDirectories(out);
            for (int i = 0; i < args.length; i++) argv[i] = args[i].replace(OUT, out.toString());
            Map<Path, String> before = new LinkedHashMap<>(fixtureHashes);
            Map<Path, List<String>> dirsBefore = new LinkedHashMap<>();
            for (Path p : inputs) {
                if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) before.put(p, sha256(p));
                Path dir = p.toAbsolutePath().getParent();
                if (dir != null && !dir.equals(Path.of("/dev")) && Files.isDirectory(dir)) dirsBefore.put(dir, list(dir));
            }
            String label = category + " / " + caseName + ": fabric " + String.join(" ", argv);
            Result r = run(label, argv);
            runs++;
            runsByCommand.merge(command(argv), 1, Integer::sum);
            if (r == null) return null;
            if (r.rc != 0) rejected++;
            List<String> bad = new ArrayList<>();
            if (r.rc != 0 && r.rc != 2 && r.rc != 3 && r.rc != 4) bad.add("exit code " + r.rc);
            if (expect == Expect.FAIL && r.rc == 0) bad.add("exit code 0 for a bad input");
            if (r.err.contains("\tat ") || r.err.contains("Exception in thread") || r.err.contains("internal error"))
                bad.add("stack trace or internal error on stderr");
            if (r.rc != 0 && culprits.stream().noneMatch(r.err::contains))
                bad.add("the message names none of " + culprits);
            for (var e : before.entrySet()) {
                if (!Files.exists(e.getKey(), LinkOption.NOFOLLOW_LINKS)) bad.add("input " + e.getKey() + " was deleted");
                else if (Files.isRegularFile(e.getKey(), LinkOption.NOFOLLOW_LINKS) && !sha256(e.getKey()).equals(e.getValue()))
                    bad.add("input " + e.getKey() + " changed");
                else if (!Files.isRegularFile(e.getKey(), LinkOption.NOFOLLOW_LINKS)) bad.add("input " + e.getKey() + " was replaced");
            }
            for (var e : dirsBefore.entrySet()) {
                if (!Files.isDirectory(e.getKey())) continue;
                List<String> now = list(e.getKey());
                now.removeAll(e.getValue());
                if (!now.isEmpty()) bad.add("new files beside the input: " + now);
            }
            List<String> left = list(out);
            if (r.rc != 0 && !left.isEmpty()) bad.add("left behind in the output folder: " + left);
            if (r.rc == 0) {
                for (String f : left)
                    if (Arrays.stream(argv).noneMatch(a -> a.endsWith("/" + f))) bad.add("unexpected file in the output folder: " + f);
            }
            if (!bad.isEmpty()) {
                String first = r.err.lines().filter(l -> !l.isBlank()).filter(l -> l.contains("error") || l.contains("Exception")
                        || l.contains("Invalid") || l.contains("Missing") || l.contains("Unknown")).findFirst()
                        .orElse(r.err.lines().findFirst().orElse(""));
                failures.add(label + "\n    rc " + r.rc + ": " + String.join("; ", bad) + "\n    stderr: "
                        + first.substring(0, Math.min(300, first.length())));
            }
            return r;
        } catch (IOException e) {
            failures.add(category + " / " + caseName + ": harness I/O error " + e);
            return null;
        } finally {
            deleteTree(out);
        }
    }

    void countCase(String category) {
        casesByCategory.merge(category, 1, Integer::sum);
    }

    private static String command(String[] argv) {
        if (argv.length == 0) return "(none)";
        return argv[0].equals("bench") && argv.length > 1 ? "bench " + argv[1] : argv[0];
    }

    /** The CLI in-process with stdout/stderr captured and an empty stdin, under a timeout. */
    private Result run(String label, String[] argv) {
        PrintStream oldOut = System.out, oldErr = System.err;
        InputStream oldIn = System.in;
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        StringWriter cliOut = new StringWriter(), cliErr = new StringWriter();
        List<MemoryPoolMXBean> heap = ManagementFactory.getMemoryPoolMXBeans().stream()
                .filter(p -> p.getType() == MemoryType.HEAP).toList();
        heap.forEach(MemoryPoolMXBean::resetPeakUsage);
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            System.setIn(new ByteArrayInputStream(new byte[0]));
            Future<Integer> f = exec.submit(() -> {
                // one command line for all runs: building one costs ~50 ms; picocli resets every option before a parse
                if (cl == null || !reuse) cl = Main.commandLine();
                cl.setOut(new PrintWriter(cliOut, true));
                cl.setErr(new PrintWriter(cliErr, true));
                return cl.execute(argv);
            });
            int rc;
            try {
                rc = f.get(TIMEOUT_S, TimeUnit.SECONDS);
            } catch (TimeoutException e) {
                f.cancel(true);
                throw new AssertionError("hung for more than " + TIMEOUT_S + " s: " + label);
            } catch (java.util.concurrent.ExecutionException e) {
                failures.add(label + "\n    threw " + e.getCause());
                return null;
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
            return new Result(rc, cliOut + out.toString(StandardCharsets.UTF_8), cliErr + err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
            System.setIn(oldIn);
            long peak = heap.stream().mapToLong(p -> p.getPeakUsage().getUsed()).sum();
            peakHeap = Math.max(peakHeap, peak);
        }
    }

    static String sha256(Path p) throws IOException {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(p)));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    static List<String> list(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return new ArrayList<>(new TreeSet<>(s.map(p -> p.getFileName().toString()).toList()));
        }
    }

    static void deleteTree(Path p) {
        try {
            if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) return;
            if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                p.toFile().setWritable(true);
                try (Stream<Path> s = Files.list(p)) {
                    for (Path c : s.toList()) deleteTree(c);
                }
            }
            Files.deleteIfExists(p);
        } catch (IOException e) {
            // best effort: the temp root is removed by JUnit
        }
    }

    String summary() {
        StringBuilder sb = new StringBuilder();
        sb.append(runs).append(" runs (").append(rejected).append(" rejected with 2/3/4); cases by category ")
                .append(casesByCategory).append("; runs by command ").append(runsByCommand)
                .append(String.format("; peak heap in one run %.1f MiB", peakHeap / 1048576.0));
        return sb.toString();
    }

    String failureReport(int max) {
        StringBuilder sb = new StringBuilder(failures.size() + " violations:\n");
        for (int i = 0; i < Math.min(max, failures.size()); i++) sb.append(failures.get(i)).append('\n');
        if (failures.size() > max) sb.append("... and ").append(failures.size() - max).append(" more\n");
        return sb.toString();
    }
}
