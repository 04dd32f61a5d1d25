package dev.fabric.gguf;

import static org.junit.jupiter.api.Assertions.*;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;

/**
 * Coverage-guided fuzzing of the GGUF parser with Jazzer. Under plain {@code mvn test} this runs the seed inputs
 * in {@code src/test/resources/dev/fabric/gguf/GgufJazzerFuzzTestInputs/parse/} (a regression run); with
 * {@code JAZZER_FUZZ=1} it fuzzes for {@code maxDuration}. Any Throwable other than {@link GgufFormatException}
 * is a finding. On success the layout invariants the mapping relies on are checked against the input length.
 */
class GgufJazzerFuzzTest {
    static {
        // Instrument and hook only the GGUF package: Jazzer's class rewriting of the whole JDK is slow (and its ASM
        // cannot read JDK 25 class files anyway). JUnit reads jazzer.* configuration from system properties too.
        System.setProperty("jazzer.instrumentation_includes", "dev.fabric.gguf.**");
        System.setProperty("jazzer.custom_hook_includes", "dev.fabric.gguf.**");
    }

    @FuzzTest(maxDuration = "20s")
    void parse(byte[] data) throws IOException {
        GgufParser.Result r;
        try {
            r = GgufParser.parse("fuzz-input", data);
        } catch (GgufFormatException e) {
            assertTrue(e.getMessage().startsWith("fuzz-input: "), e.getMessage());
            return;
        }
        assertEquals(data.length, r.fileSize());
        assertTrue(r.infosEnd() <= data.length);
        assertEquals(0, r.dataOffset() % r.alignment());
        for (GgufTensorInfo t : r.tensors()) {
            assertEquals(0, t.offset() % r.alignment(), t.name());
            assertTrue(r.dataOffset() + t.offset() + t.byteSize() <= data.length, t.name() + " inside the file");
            assertTrue(t.nDims() >= 1 && t.nDims() <= 4);
        }
        for (String k : r.metadata().keys()) assertNotNull(r.metadata().get(k).toString());
    }
}
