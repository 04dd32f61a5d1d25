package dev.fabric.lora;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fabric.FabricException;
import dev.fabric.train.AtomicFiles;
import dev.fabric.train.SafeTensors;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * A LoRA as a Hugging Face PEFT adapter folder (training.md): {@code adapter_model.safetensors} with
 * {@code base_model.model.model.layers.N.<self_attn|mlp>.<module>.lora_A.weight} ([r, in], row-major) and
 * {@code ...lora_B.weight} ([out, r]), and {@code adapter_config.json}. Our factors are in GGUF row order; for a
 * Llama base, B of q and k is re-ordered to Hugging Face's rows on writing and back on reading
 * ({@link QkPermutation}).
 */
public final class PeftAdapter {
    public static final String WEIGHTS = "adapter_model.safetensors";
    public static final String CONFIG = "adapter_config.json";
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private PeftAdapter() {}

    /** Writes {@code dir}/adapter_model.safetensors and {@code dir}/adapter_config.json, each atomically. */
    public static void write(Path dir, LoraWeights w, AdapterBase base) throws IOException {
        Files.createDirectories(dir);
        Map<String, SafeTensors.Entry> tensors = new LinkedHashMap<>();
        int r = w.config().rank();
        for (int k = 0; k < w.targets().size(); k++) {
            LoraTarget t = w.targets().get(k);
            FloatBuffer b = w.b(k);
            if (base.permutes(t.role())) {
                FloatBuffer hf = floats(b.capacity());
                QkPermutation.ggufToHf(b, hf, t.nOut(), r, base.heads(t.role()));
                b = hf;
            }
            tensors.put(t.peftModule() + ".lora_A.weight", new SafeTensors.Entry(new long[] {r, t.nIn()}, w.a(k)));
            tensors.put(t.peftModule() + ".lora_B.weight", new SafeTensors.Entry(new long[] {t.nOut(), r}, b));
        }
        SafeTensors.write(dir.resolve(WEIGHTS), tensors, Map.of("format", "pt"));

        LoraConfig c = w.config();
        ObjectNode j = JSON.createObjectNode();
        j.put("peft_type", "LORA");
        j.put("task_type", "CAUSAL_LM");
        j.put("base_model_name_or_path", base.nameOrPath());
        j.put("r", c.rank());
        j.put("lora_alpha", c.alpha());
        j.put("lora_dropout", c.dropout());
        ArrayNode mods = j.putArray("target_modules");
        for (LoraRole role : EnumSet.copyOf(c.roles())) mods.add(role.hfModule());
        j.put("bias", "none");
        j.put("use_rslora", c.rsLora());
        j.put("fan_in_fan_out", false);
        j.put("inference_mode", true);
        AtomicFiles.write(dir.resolve(CONFIG), JSON.writeValueAsBytes(j));
    }

    /**
     * Reads a PEFT adapter folder into factors for {@code targets}. Its {@code adapter_config.json} must agree
     * with {@code config} on r, lora_alpha and use_rslora (the scale), have no bias and fan_in_fan_out false;
     * every target needs its A and B of the right shapes, and tensors for modules that are not targets are
     * refused.
     */
    public static LoraWeights read(Path dir, LoraConfig config, java.util.List<LoraTarget> targets, AdapterBase base)
            throws IOException {
        Path cfgFile = dir.resolve(CONFIG);
        JsonNode j;
        try {
            j = new ObjectMapper().readTree(cfgFile.toFile());
        } catch (NoSuchFileException | java.io.FileNotFoundException e) {
            throw new FabricException(cfgFile + ": no such file", FabricException.EXIT_IO, e);
        } catch (IOException e) {
            throw new FabricException(cfgFile + ": not valid JSON: " + e.getMessage(), e);
        }
        if (j == null || !j.isObject()) throw new FabricException(cfgFile + ": not a JSON object");
        String type = j.path("peft_type").asText("");
        if (!type.equals("LORA")) throw new FabricException(cfgFile + ": peft_type is '" + type + "', expected LORA");
        int r = j.path("r").asInt(-1);
        double alpha = j.path("lora_alpha").asDouble(Double.NaN);
        boolean rs = j.path("use_rslora").asBoolean(false);
        if (r != config.rank() || alpha != config.alpha() || rs != config.rsLora())
            throw new FabricException(cfgFile + ": r " + r + ", lora_alpha " + alpha + ", use_rslora " + rs
                    + " differ from the LoRA configuration (rank " + config.rank() + ", alpha " + config.alpha()
                    + ", rsLoRA " + config.rsLora() + ")");
        if (!j.path("bias").asText("none").equals("none"))
            throw new FabricException(cfgFile + ": bias is '" + j.path("bias").asText() + "'; only 'none' is supported");
        if (j.path("fan_in_fan_out").asBoolean(false))
            throw new FabricException(cfgFile + ": fan_in_fan_out true is not supported (that is for GPT-2 Conv1D)");

        Path wFile = dir.resolve(WEIGHTS);
        Map<String, SafeTensors.Entry> tensors = new LinkedHashMap<>(SafeTensors.read(wFile).tensors());
        LoraWeights w = LoraWeights.zeros(config, targets);
        for (int k = 0; k < targets.size(); k++) {
            LoraTarget t = targets.get(k);
            SafeTensors.Entry a = take(tensors, wFile, t.peftModule() + ".lora_A.weight", r, t.nIn());
            SafeTensors.Entry b = take(tensors, wFile, t.peftModule() + ".lora_B.weight", t.nOut(), r);
            copy(a.data(), w.a(k));
            if (base.permutes(t.role())) QkPermutation.hfToGguf(b.data(), w.b(k), t.nOut(), r, base.heads(t.role()));
            else copy(b.data(), w.b(k));
        }
        if (!tensors.isEmpty())
            throw new FabricException(wFile + ": tensors for modules the LoRA target roles do not select: "
                    + tensors.keySet());
        return w;
    }

    private static SafeTensors.Entry take(Map<String, SafeTensors.Entry> tensors, Path file, String name, long rows,
            long cols) {
        SafeTensors.Entry e = tensors.remove(name);
        if (e == null) e = tensors.remove(name.replace(".weight", ".default.weight"));
        if (e == null) throw new FabricException(file + ": tensor " + name + " is missing");
        if (!Arrays.equals(e.shape(), new long[] {rows, cols}))
            throw new FabricException(file + ": " + name + " has shape " + Arrays.toString(e.shape()) + ", expected ["
                    + rows + ", " + cols + "]");
        return e;
    }

    private static void copy(FloatBuffer src, FloatBuffer dst) {
        for (int i = 0, n = src.capacity(); i < n; i++) dst.put(i, src.get(i));
    }

    private static FloatBuffer floats(int n) {
        return ByteBuffer.allocateDirect(4 * n).order(ByteOrder.nativeOrder()).asFloatBuffer();
    }

    /** The roles a PEFT config's target_modules name (for building a configuration from an adapter). */
    public static Set<LoraRole> roles(JsonNode targetModules, String where) {
        java.util.List<String> names = new java.util.ArrayList<>();
        targetModules.forEach(n -> names.add(n.asText()));
        return LoraRole.parse(names, where);
    }
}
