package dev.fabric.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fabric.FabricException;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Checkpoints of a {@link Trainer} under a root folder, one folder {@code checkpoint-<update>} each, holding
 * <ul>
 *   <li>{@code params.safetensors}: every trainable tensor's value, by its name (for a LoRA, the adapter);
 *   <li>{@code optimizer.safetensors}: AdamW's {@code m.<name>} and {@code v.<name>};
 *   <li>{@code trainer.json}: the update count (AdamW's t, the schedule position), steps attempted, skipped
 *       steps, the generator's state, the data source's position (base64 of its opaque bytes), the recipe hash,
 *       and the schedule and optimizer settings for reference;
 *   <li>whatever {@code extra} adds (e.g. {@code adapter.gguf}).
 * </ul>
 * A checkpoint is written into a temporary folder beside the others and renamed into place whole, so a crash
 * leaves either the complete folder or none (the next save deletes a crashed one's temporary folder); then all
 * but the newest {@code keep} are deleted. Floats are stored
 * exactly, so {@link #restore} continues a run bit for bit.
 */
public final class Checkpoints {
    public static final String PARAMS = "params.safetensors";
    public static final String OPTIMIZER = "optimizer.safetensors";
    public static final String STATE = "trainer.json";
    private static final Pattern NAME = Pattern.compile("checkpoint-(\\d+)");
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final int FORMAT = 1;

    /** Adds files to a checkpoint folder being written. */
    @FunctionalInterface
    public interface Extra {
        void write(Path dir) throws IOException;
    }

    private final Path root;
    private final int keep;
    private final String recipeHash;

    /**
     * @param keep how many checkpoints to keep (the newest), at least 1
     * @param recipeHash identifies the recipe; {@link #restore} refuses a checkpoint of another recipe
     */
    public Checkpoints(Path root, int keep, String recipeHash) {
        if (keep < 1) throw new IllegalArgumentException("keep must be at least 1");
        this.root = root;
        this.keep = keep;
        this.recipeHash = recipeHash == null ? "" : recipeHash;
    }

    /** Writes a checkpoint of {@code t} as {@code checkpoint-<updates>} and prunes old ones; returns its folder. */
    public Path save(Trainer<?> t, Extra extra) throws IOException {
        Files.createDirectories(root);
        deleteLeftovers();
        Path dst = root.resolve("checkpoint-" + t.updates());
        Path tmp = Files.createTempDirectory(root, ".checkpoint-" + t.updates() + ".");
        boolean ok = false;
        try {
            try {   // createTempDirectory makes the folder private (0700)
                Files.setPosixFilePermissions(tmp, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
            } catch (UnsupportedOperationException ignored) {
                // not a POSIX file system
            }
            TrainableParams p = t.model().params();
            AdamW a = t.optimizer();
            Map<String, SafeTensors.Entry> values = new LinkedHashMap<>();
            Map<String, SafeTensors.Entry> moments = new LinkedHashMap<>();
            for (int i = 0; i < p.size(); i++) {
                values.put(p.name(i), new SafeTensors.Entry(p.shape(i), p.value(i)));
                moments.put("m." + p.name(i), new SafeTensors.Entry(p.shape(i), a.m(i)));
                moments.put("v." + p.name(i), new SafeTensors.Entry(p.shape(i), a.v(i)));
            }
            SafeTensors.write(tmp.resolve(PARAMS), values, Map.of());
            SafeTensors.write(tmp.resolve(OPTIMIZER), moments, Map.of());
            ObjectNode j = JSON.createObjectNode();
            j.put("format", FORMAT);
            j.put("updates", t.updates());
            j.put("steps", t.steps());
            j.put("skipped", t.skipped());
            j.put("consecutive_skips", t.consecutiveSkips());
            j.put("rng_state", t.rng().state());
            j.put("data_state", Base64.getEncoder().encodeToString(t.data().state()));
            j.put("recipe_hash", recipeHash);
            LrSchedule s = t.config().schedule();
            ObjectNode sj = j.putObject("schedule");
            sj.put("kind", s.kind().name().toLowerCase(java.util.Locale.ROOT));
            sj.put("peak", s.peak());
            sj.put("warmup", s.warmup());
            sj.put("total", s.total());
            AdamW.Config ac = t.config().adam();
            ObjectNode aj = j.putObject("adamw");
            aj.put("beta1", ac.beta1());
            aj.put("beta2", ac.beta2());
            aj.put("eps", ac.eps());
            aj.put("weight_decay", ac.weightDecay());
            AtomicFiles.write(tmp.resolve(STATE), JSON.writeValueAsBytes(j));
            if (extra != null) extra.write(tmp);
            AtomicFiles.syncDirectory(tmp);
            if (Files.exists(dst)) {   // the same update written again (a re-run): replace it whole
                Path old = Files.createTempDirectory(root, ".old-checkpoint-");
                Files.delete(old);
                Files.move(dst, old);
                AtomicFiles.move(tmp, dst);
                AtomicFiles.deleteTree(old);
            } else {
                AtomicFiles.move(tmp, dst);
            }
            AtomicFiles.syncDirectory(root);
            ok = true;
        } catch (IOException e) {
            throw new FabricException("cannot write checkpoint " + dst + ": " + e.getMessage(), FabricException.EXIT_IO, e);
        } finally {
            if (!ok) AtomicFiles.deleteTree(tmp);
        }
        List<Path> all = list(root);
        for (int i = 0; i < all.size() - keep; i++) AtomicFiles.deleteTree(all.get(i));
        return dst;
    }

    /** Temporary folders a crashed save left behind (one trainer writes to a root at a time). */
    private void deleteLeftovers() throws IOException {
        List<Path> stale;
        try (Stream<Path> s = Files.list(root)) {
            stale = s.filter(p -> {
                String n = p.getFileName().toString();
                return Files.isDirectory(p) && (n.startsWith(".checkpoint-") || n.startsWith(".old-checkpoint-"));
            }).toList();
        }
        for (Path p : stale) AtomicFiles.deleteTree(p);
    }

    /** The checkpoint folders under {@code root}, oldest (fewest updates) first; empty where there are none. */
    public static List<Path> list(Path root) throws IOException {
        if (!Files.isDirectory(root)) return List.of();
        List<Path> out = new ArrayList<>();
        try (Stream<Path> s = Files.list(root)) {
            s.filter(p -> NAME.matcher(p.getFileName().toString()).matches() && Files.isDirectory(p)).forEach(out::add);
        }
        out.sort(Comparator.comparingLong(Checkpoints::updatesOf));
        return out;
    }

    /** The newest checkpoint under {@code root}, or null. */
    public static Path latest(Path root) throws IOException {
        List<Path> all = list(root);
        return all.isEmpty() ? null : all.get(all.size() - 1);
    }

    private static long updatesOf(Path p) {
        Matcher m = NAME.matcher(p.getFileName().toString());
        return m.matches() ? Long.parseLong(m.group(1)) : -1;
    }

    /**
     * Restores checkpoint {@code dir} into a freshly built trainer (same recipe, same parameter names and shapes):
     * parameter values, moments, counters, generator and the data position. The recipe hash must match.
     */
    public void restore(Path dir, Trainer<?> t) throws IOException {
        Path stateFile = dir.resolve(STATE);
        JsonNode j;
        try {
            j = JSON.readTree(stateFile.toFile());
        } catch (IOException e) {
            throw new FabricException(stateFile + ": cannot read the checkpoint state: " + e.getMessage(),
                    FabricException.EXIT_IO, e);
        }
        if (j == null || j.path("format").asInt(-1) != FORMAT)
            throw new FabricException(stateFile + ": not a format-" + FORMAT + " checkpoint state");
        String hash = j.path("recipe_hash").asText("");
        if (!hash.equals(recipeHash))
            throw new FabricException(stateFile + ": recipe_hash '" + hash + "' is not this recipe's ('" + recipeHash
                    + "'); resuming would mix two trainings");
        TrainableParams p = t.model().params();
        Map<String, SafeTensors.Entry> values = SafeTensors.read(dir.resolve(PARAMS)).tensors();
        Map<String, SafeTensors.Entry> moments = SafeTensors.read(dir.resolve(OPTIMIZER)).tensors();
        if (values.size() != p.size() || moments.size() != 2 * p.size())
            throw new FabricException(dir + ": the checkpoint holds " + values.size() + " tensors, the model "
                    + p.size());
        AdamW a = t.optimizer();
        for (int i = 0; i < p.size(); i++) {
            copy(dir.resolve(PARAMS), p.name(i), values, p.shape(i), p.value(i));
            copy(dir.resolve(OPTIMIZER), "m." + p.name(i), moments, p.shape(i), a.m(i));
            copy(dir.resolve(OPTIMIZER), "v." + p.name(i), moments, p.shape(i), a.v(i));
        }
        byte[] data;
        try {
            data = Base64.getDecoder().decode(j.path("data_state").asText(""));
        } catch (IllegalArgumentException e) {
            throw new FabricException(stateFile + ": data_state is not base64");
        }
        t.data().restore(data);
        t.restore(need(j, "steps", stateFile), need(j, "updates", stateFile), need(j, "skipped", stateFile),
                (int) need(j, "consecutive_skips", stateFile), need(j, "rng_state", stateFile));
        t.model().zeroGrad();
    }

    private static long need(JsonNode j, String field, Path file) {
        JsonNode n = j.get(field);
        if (n == null || !n.canConvertToLong()) throw new FabricException(file + ": field " + field + " is missing");
        return n.asLong();
    }

    private static void copy(Path file, String name, Map<String, SafeTensors.Entry> from, long[] shape,
            FloatBuffer dst) {
        SafeTensors.Entry e = from.get(name);
        if (e == null) throw new FabricException(file + ": tensor " + name + " is missing");
        if (!Arrays.equals(e.shape(), shape))
            throw new FabricException(file + ": " + name + " has shape " + Arrays.toString(e.shape()) + ", the model "
                    + Arrays.toString(shape));
        FloatBuffer src = e.data();
        for (int i = 0, n = src.capacity(); i < n; i++) dst.put(i, src.get(i));
    }
}
