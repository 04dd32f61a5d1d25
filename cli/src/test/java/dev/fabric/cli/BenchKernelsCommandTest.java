package dev.fabric.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.fabric.backend.cpu.CpuKernels;
import dev.fabric.backend.cpu.KernelBench;
import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** {@code fabric bench kernels} on a tiny row: one line per operation, one column per available variant. */
class BenchKernelsCommandTest {

    @Test
    void printsEveryOperationForEveryVariant() {
        CommandLine cl = Main.commandLine();
        StringWriter out = new StringWriter();
        cl.setOut(new PrintWriter(out));
        int rc = cl.execute("bench", "kernels", "--sizes", "1K", "--samples", "1");
        assertEquals(0, rc);
        String text = out.toString();
        assertTrue(text.contains("auto picks " + CpuKernels.best()), text);
        for (KernelBench.Op op : KernelBench.Op.values()) {
            String row = text.lines().filter(l -> l.startsWith(op.label + " ")).findFirst().orElseThrow(() ->
                    new AssertionError("no row for " + op.label + " in:\n" + text));
            int variants = CpuKernels.available().size();
            assertEquals(variants, row.split(op.flops ? "GF/s" : "GB/s", -1).length - 1, row);
            assertEquals(variants - 1, row.split("x\\)", -1).length - 1, "a ratio per non-generic variant: " + row);
        }
    }

    @Test
    void rejectsABadSize() {
        CommandLine cl = Main.commandLine();
        cl.setErr(new PrintWriter(new StringWriter()));
        assertEquals(2, cl.execute("bench", "kernels", "--sizes", "12Q"));
    }
}
