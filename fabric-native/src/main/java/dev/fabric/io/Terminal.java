package dev.fabric.io;

import java.io.Console;

/**
 * Whether stderr is a terminal, so that progress bars (which redraw a line with carriage returns) are drawn only
 * there; a log file or a pipe gets plain lines instead.
 *
 * <p>The launcher ({@code ./fabric}) tests stderr itself ({@code [ -t 2 ]}) and passes the answer as the system
 * property {@code fabric.stderr.tty}; {@code FABRIC_PROGRESS=0|1} overrides it. Without either (the CLI run some
 * other way) the JVM's console decides: none, or one that is not a terminal, means no bar. {@code TERM=dumb} never
 * gets a bar.
 */
public final class Terminal {
    private Terminal() {}

    public static boolean stderrIsTerminal() {
        String env = System.getenv("FABRIC_PROGRESS");
        if ("0".equals(env)) return false;
        if ("1".equals(env)) return true;
        String prop = System.getProperty("fabric.stderr.tty");
        if (prop != null) return Boolean.parseBoolean(prop);
        if ("dumb".equals(System.getenv("TERM"))) return false;
        Console c = System.console();
        if (c == null) return false;
        try {
            // JDK 22+ returns a console even when redirected; isTerminal() (22+) tells; on 21 a console is a terminal
            return (Boolean) Console.class.getMethod("isTerminal").invoke(c);
        } catch (ReflectiveOperationException | RuntimeException e) {
            return true;
        }
    }
}
