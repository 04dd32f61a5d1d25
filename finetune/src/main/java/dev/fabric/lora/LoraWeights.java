package dev.fabric.lora;

import dev.fabric.FabricException;
import dev.fabric.backend.Backend;
import dev.fabric.backend.DType;
import dev.fabric.backend.Tensor;
import dev.fabric.backend.cpu.CpuBackend;
import dev.fabric.train.Rng;
import dev.fabric.train.TrainableParams;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The trainable factors of a LoRA: for each target an A [r, nIn] and a B [nOut, r] (row-major F32, the numbers of
 * the GGUF {@code lora_a} / {@code lora_b}), each with a gradient. As {@link TrainableParams}, tensor {@code 2k} is
 * target k's A (named {@code <base>.lora_a}) and {@code 2k + 1} its B.
 */
public final class LoraWeights implements TrainableParams {
    private final LoraConfig config;
    private final List<LoraTarget> targets;
    private final FloatBuffer[] values;
    private final FloatBuffer[] grads;

    private LoraWeights(LoraConfig config, List<LoraTarget> targets) {
        this.config = config;
        this.targets = List.copyOf(targets);
        int n = 2 * targets.size();
        values = new FloatBuffer[n];
        grads = new FloatBuffer[n];
        for (int i = 0; i < n; i++) {
            values[i] = direct(numel(i));
            grads[i] = direct(numel(i));
        }
    }

    private static FloatBuffer direct(int n) {
        return ByteBuffer.allocateDirect(Math.multiplyExact(n, Float.BYTES)).order(ByteOrder.nativeOrder())
                .asFloatBuffer();
    }

    /** All zeros (for readers that fill the values in). */
    public static LoraWeights zeros(LoraConfig config, List<LoraTarget> targets) {
        return new LoraWeights(config, targets);
    }

    /**
     * A fresh adapter as PEFT initialises one: B = 0 (so training starts from the base model) and A drawn
     * uniformly from [−1/√nIn, 1/√nIn), which is PyTorch's {@code kaiming_uniform_(a=√5)} for fan-in nIn
     * (gain √(2/(1+5)) times √(3/nIn)). Each A draws from its own stream, {@link Rng#forName}(seed, its GGUF
     * name), element by element in row-major order, so the values depend on neither target order nor threads.
     */
    public static LoraWeights initialise(LoraConfig config, List<LoraTarget> targets) {
        LoraWeights w = new LoraWeights(config, targets);
        for (int k = 0; k < targets.size(); k++) {
            LoraTarget t = targets.get(k);
            Rng rng = Rng.forName(config.seed(), t.ggufA());
            double bound = 1.0 / Math.sqrt(t.nIn());
            FloatBuffer a = w.a(k);
            for (int j = 0, n = a.capacity(); j < n; j++) a.put(j, (float) ((2 * rng.nextDouble() - 1) * bound));
        }
        return w;
    }

    /**
     * Starts from a llama.cpp adapter GGUF, read with fabric-native's {@link dev.fabric.lora.LoraAdapter}: every
     * target must have its pair, of rank {@code config.rank()} and the target's shape, and the file's
     * {@code adapter.lora.alpha} must equal {@link LoraConfig#ggufAlpha} (else the scale would silently change).
     * Pairs for tensors that are not targets are refused, except 1-D pairs (norm weights a substring-matching
     * trainer adapted; llama.cpp ignores them too), which are dropped.
     */
    public static LoraWeights fromGguf(Path file, LoraConfig config, List<LoraTarget> targets) throws IOException {
        try (Backend cpu = new CpuBackend(1); LoraAdapter adapter = LoraAdapter.load(file, cpu)) {
            if (adapter.alpha() != config.ggufAlpha())
                throw new FabricException(file + ": adapter.lora.alpha is " + adapter.alpha() + " but the LoRA "
                        + "configuration gives " + config.ggufAlpha() + (config.rsLora() ? " (alpha·√r, rsLoRA)" : ""));
            LoraWeights w = new LoraWeights(config, targets);
            Map<String, LoraAdapter.Pair> pairs = adapter.pairs();
            for (int k = 0; k < targets.size(); k++) {
                LoraTarget t = targets.get(k);
                LoraAdapter.Pair p = pairs.get(t.base());
                if (p == null) throw new FabricException(file + ": no " + t.ggufA() + " / " + t.ggufB()
                        + " pair for the target " + t.base());
                check(file, t.ggufA(), p.a(), config.rank(), t.nIn());
                check(file, t.ggufB(), p.b(), t.nOut(), config.rank());
                toF32(cpu, p.a(), w.a(k));
                toF32(cpu, p.b(), w.b(k));
            }
            List<String> extra = new ArrayList<>();
            for (LoraAdapter.Pair p : pairs.values()) {
                boolean target = targets.stream().anyMatch(t -> t.base().equals(p.base()));
                boolean vectorBase = p.b().rows() == 1;   // lora_b ne = [r]: the base is 1-D (a norm)
                if (!target && !vectorBase) extra.add(p.base());
            }
            if (!extra.isEmpty())
                throw new FabricException(file + ": the adapter also adapts " + extra
                        + ", which the LoRA target roles do not select");
            return w;
        }
    }

    private static void check(Path file, String name, Tensor t, long rows, long cols) {
        if (t.rank() != 2 || t.rows() != rows || t.cols() != cols)
            throw new FabricException(file + ": " + name + " has shape " + java.util.Arrays.toString(t.shape())
                    + " (rows, cols); expected [" + rows + ", " + cols + "]");
    }

    /** Copies an F32/F16/BF16 factor into {@code dst} as F32, widening exactly (get_rows over every row). */
    private static void toF32(Backend cpu, Tensor src, FloatBuffer dst) {
        float[] f;
        if (src.type() == DType.F32) {
            f = cpu.readFloats(src);
        } else {
            int rows = Math.toIntExact(src.rows());
            int[] ids = new int[rows];
            for (int i = 0; i < rows; i++) ids[i] = i;
            try (Tensor idT = cpu.allocate(DType.I32, rows); Tensor out = cpu.allocate(DType.F32, rows, src.cols())) {
                cpu.write(idT, ids);
                cpu.get_rows(src, idT, out);
                f = cpu.readFloats(out);
            }
        }
        dst.put(0, f);
    }

    public LoraConfig config() {
        return config;
    }

    public List<LoraTarget> targets() {
        return targets;
    }

    /** Target k's A, [r, nIn] row-major. */
    public FloatBuffer a(int k) {
        return values[2 * k];
    }

    /** Target k's B, [nOut, r] row-major. */
    public FloatBuffer b(int k) {
        return values[2 * k + 1];
    }

    @Override
    public int size() {
        return values.length;
    }

    @Override
    public String name(int i) {
        LoraTarget t = targets.get(i / 2);
        return i % 2 == 0 ? t.ggufA() : t.ggufB();
    }

    @Override
    public long[] shape(int i) {
        LoraTarget t = targets.get(i / 2);
        return i % 2 == 0 ? new long[] {config.rank(), t.nIn()} : new long[] {t.nOut(), config.rank()};
    }

    @Override
    public int numel(int i) {
        LoraTarget t = targets.get(i / 2);
        return Math.multiplyExact(config.rank(), i % 2 == 0 ? t.nIn() : t.nOut());
    }

    @Override
    public FloatBuffer value(int i) {
        return values[i];
    }

    @Override
    public FloatBuffer grad(int i) {
        return grads[i];
    }
}
