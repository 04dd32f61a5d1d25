package dev.fabric.cli;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import picocli.CommandLine;

/** Runs the CLI in-process as {@code ./fabric ARGS} would, capturing stdout, stderr and the exit code. */
record Run(int rc, String out, String err) {
    static synchronized Run of(String... args) {
        PrintStream oldOut = System.out, oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        StringWriter cliOut = new StringWriter(), cliErr = new StringWriter();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            CommandLine cl = Main.commandLine();
            cl.setOut(new PrintWriter(cliOut, true));
            cl.setErr(new PrintWriter(cliErr, true));
            int rc = cl.execute(args);
            return new Run(rc, cliOut + out.toString(StandardCharsets.UTF_8),
                    cliErr + err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    /** The last stdout line containing {@code s}. */
    String lastLineMatching(String s) {
        return out.lines().filter(l -> l.contains(s)).reduce((a, b) -> b).orElse("");
    }

    /** The last non-empty line of stdout. */
    String lastLine() {
        return out.lines().filter(l -> !l.isBlank()).reduce((a, b) -> b).orElse("");
    }
}
