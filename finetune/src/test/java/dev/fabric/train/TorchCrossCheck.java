package dev.fabric.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fabric.lora.AdapterBase;
import dev.fabric.lora.LoraConfig;
import dev.fabric.lora.LoraRole;
import dev.fabric.lora.LoraTarget;
import dev.fabric.lora.LoraWeights;
import dev.fabric.lora.PeftAdapter;
import dev.fabric.gguf.GgmlType;
import dev.fabric.gguf.GgufTensorInfo;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;

/**
 * The Java side of the cross-check against PyTorch (src/test/python/torch_crosscheck.py), run by
 * {@link TorchCrossCheckTest} when a Python with torch is at hand, or by hand. Writes into the folder given as argument:
 * <ul>
 *   <li>{@code adamw.json}: the initial values, the raw gradient of every step, the learning rates and the final
 *       values of a {@link Trainer} run (AdamW, cosine schedule with warmup, clipping by global norm);
 *   <li>{@code peft/}: a PEFT adapter folder for a Llama-shaped base, for {@code safetensors.torch.load_file}.
 * </ul>
 */
public final class TorchCrossCheck {
    public static void main(String[] args) throws Exception {
        if (args[0].equals("--read-peft")) {
            int same = readPeft(Path.of(args[1]));
            System.out.println("PeftAdapter.read of PEFT's save_pretrained output: " + same + "/" + crossCheckAdapter().size()
                    + " tensors bit-identical to what Fabric wrote (q/k B permuted back to GGUF order)");
            return;
        }
        write(Path.of(args[0]), args.length > 1 ? Double.parseDouble(args[1]) : 1.0);
    }

    /** Writes adamw.json and peft/ into {@code out}, clipping at {@code maxNorm}. */
    static void write(Path out, double maxNorm) throws Exception {
        Files.createDirectories(out);
        int steps = 200, warmup = 20;
        double peak = 1e-3;
        AdamW.Config adam = new AdamW.Config(0.9, 0.999, 1e-8, 0.01);
        int[] sizes = {1000, 64};
        FloatBuffer[] v = {SoftmaxRegression.buf(sizes[0]), SoftmaxRegression.buf(sizes[1])};
        FloatBuffer[] g = {SoftmaxRegression.buf(sizes[0]), SoftmaxRegression.buf(sizes[1])};
        TrainableParams p = new TrainableParams() {
            public int size() {
                return 2;
            }

            public String name(int i) {
                return "p" + i;
            }

            public long[] shape(int i) {
                return new long[] {sizes[i]};
            }

            public FloatBuffer value(int i) {
                return v[i];
            }

            public FloatBuffer grad(int i) {
                return g[i];
            }
        };
        Rng init = new Rng(5);
        for (FloatBuffer b : v) for (int j = 0; j < b.capacity(); j++) b.put(j, (float) (init.nextDouble() - 0.5));
        ObjectMapper json = new ObjectMapper();
        ObjectNode root = json.createObjectNode();
        root.put("steps", steps).put("warmup", warmup).put("lr", peak).put("max_norm", maxNorm)
                .put("beta1", adam.beta1()).put("beta2", adam.beta2()).put("eps", adam.eps())
                .put("weight_decay", adam.weightDecay());
        root.set("init", values(json, v));
        ArrayNode grads = root.putArray("grads");
        StepModel<Integer> model = new StepModel<>() {
            public LossSum forwardBackward(Integer batch, long seed) {
                Rng r = new Rng(seed);
                double scale = batch % 3 == 0 ? 0.02 : 0.005;   // some steps above the clipping threshold
                for (int i = 0; i < 2; i++)
                    for (int j = 0; j < sizes[i]; j++)
                        g[i].put(j, (float) (0.3 * v[i].get(j) * scale * 10 + scale * (r.nextDouble() - 0.5) * 100));
                grads.add(values(json, g));
                return new LossSum(1.0, 1);   // one token: the 1/N scaling is exact
            }

            public TrainableParams params() {
                return p;
            }
        };
        BatchSource<Integer> data = new BatchSource<>() {
            int i;

            public Integer next() {
                return i++;
            }

            public byte[] state() {
                return new byte[0];
            }

            public void restore(byte[] s) {}
        };
        ArrayNode lrs = root.putArray("lrs");
        ArrayNode norms = root.putArray("grad_norms");
        new Trainer<>(model, data, new Trainer.Config(steps, 1,
                new LrSchedule(LrSchedule.Kind.COSINE, peak, warmup, steps), maxNorm, adam, 1, 1))
                .onStep(r -> {
                    lrs.add(r.lr());
                    norms.add(r.gradNorm());
                })
                .run(null);
        root.set("final", values(json, v));
        json.writeValue(out.resolve("adamw.json").toFile(), root);

        LoraWeights w = crossCheckAdapter();
        PeftAdapter.write(out.resolve("peft"), w, LLAMA);
        System.out.println("wrote " + out.resolve("adamw.json") + " and " + out.resolve("peft"));
    }

    private static final AdapterBase LLAMA = new AdapterBase("llama", 4, 2, "crosscheck");
    private static final LoraConfig LORA = new LoraConfig(4, 8, 0.05, false, EnumSet.allOf(LoraRole.class), 3);

    private static List<LoraTarget> crossCheckTargets() {
        List<GgufTensorInfo> base = new ArrayList<>();
        // a Llama with n_embd 64, 4 heads, 2 KV heads of 16, n_ff 96 (the Python side builds the same in transformers)
        String[][] shapes = {{"attn_q", "64", "64"}, {"attn_k", "64", "32"}, {"attn_v", "64", "32"},
            {"attn_output", "64", "64"}, {"ffn_gate", "64", "96"}, {"ffn_up", "64", "96"}, {"ffn_down", "96", "64"}};
        for (int l = 0; l < 2; l++)
            for (String[] t : shapes)
                base.add(new GgufTensorInfo("blk." + l + "." + t[0] + ".weight",
                        new long[] {Long.parseLong(t[1]), Long.parseLong(t[2])}, GgmlType.F32, 0));
        return LoraTarget.select(base, LORA.roles(), "crosscheck");
    }

    private static LoraWeights crossCheckAdapter() {
        LoraWeights w = LoraWeights.initialise(LORA, crossCheckTargets());
        for (int k = 0; k < w.targets().size(); k++)
            for (int j = 0; j < w.b(k).capacity(); j++) w.b(k).put(j, j * 0.001f + k);
        return w;
    }

    /**
     * Reads the adapter PEFT's save_pretrained wrote and compares it with the one we wrote, bit for bit: the number
     * of tensors (of {@code crossCheckAdapter().size()}) that are identical.
     */
    static int readPeft(Path folder) throws Exception {
        LoraWeights ours = crossCheckAdapter();
        LoraWeights theirs = PeftAdapter.read(folder.resolve("peft_saved"), LORA, crossCheckTargets(), LLAMA);
        int same = 0;
        for (int i = 0; i < ours.size(); i++) {
            boolean eq = true;
            for (int j = 0; j < ours.numel(i); j++)
                eq &= Float.floatToRawIntBits(ours.value(i).get(j)) == Float.floatToRawIntBits(theirs.value(i).get(j));
            if (eq) same++;
        }
        return same;
    }

    static int adapterTensors() {
        return crossCheckAdapter().size();
    }

    private static ArrayNode values(ObjectMapper json, FloatBuffer[] bufs) {
        ArrayNode a = json.createArrayNode();
        for (FloatBuffer b : bufs) {
            ArrayNode t = a.addArray();
            for (int j = 0; j < b.capacity(); j++) t.add(b.get(j));
        }
        return a;
    }
}
