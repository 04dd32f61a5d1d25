package dev.fabric.gguf;

import static org.junit.jupiter.api.Assertions.*;

import dev.fabric.testing.SharedRef;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The reader against llama.cpp's own account of its outputs: quant/manifest.json lists, for every llama-quantize
 * output, the file's size, general.file_type and each tensor in file order with type, shape and the SHA-256 of its
 * data. Reading the outputs kept whole must give exactly that.
 */
class GgufManifestTest {
    @ParameterizedTest
    @ValueSource(strings = {"llama-spm-256x8-f16.Q4_K_M.gguf", "llama-spm-256x8-f16.Q4_K_M.imat.gguf",
        "llama-spm-256x8-f16.IQ4_XS.imat.gguf", "stories260K.Q4_K_M.imat.gguf"})
    void tensorsMatchTheManifest(String name) throws IOException, NoSuchAlgorithmException {
        @SuppressWarnings("unchecked")
        Map<String, Object> manifest = (Map<String, Object>) new ObjectMapper().readValue(SharedRef.require("quant/manifest.json").toFile(), Map.class);
        @SuppressWarnings("unchecked")
        Map<String, Object> entry = (Map<String, Object>) manifest.get(name);
        assertNotNull(entry, name + " in the manifest");
        Path file = SharedRef.require("quant/" + name);
        try (GgufFile f = GgufFile.open(file)) {
            assertEquals(((Number) entry.get("size")).longValue(), f.fileSize());
            assertEquals(((Number) entry.get("file_type")).intValue(), f.metadata().getInt("general.file_type"));
            List<?> expected = (List<?>) entry.get("tensors");
            assertEquals(expected.size(), f.tensors().size());
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            for (int i = 0; i < expected.size(); i++) {
                Map<?, ?> e = (Map<?, ?>) expected.get(i);
                GgufTensorInfo t = f.tensors().get(i);
                assertEquals(e.get("name"), t.name(), "tensor #" + i);
                assertEquals(e.get("type"), t.type().name(), t.name());
                long[] shape = ((List<?>) e.get("shape")).stream().mapToLong(x -> ((Number) x).longValue()).toArray();
                assertArrayEquals(shape, t.shape(), t.name());
                TensorData d = f.data(t);
                for (long off = 0; off < d.byteSize(); off += 1 << 20) {
                    md.update(d.slice(off, (int) Math.min(1 << 20, d.byteSize() - off)));
                }
                assertEquals(e.get("sha256"), HexFormat.of().formatHex(md.digest()), t.name() + " data");
            }
        }
    }
}
