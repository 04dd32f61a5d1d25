package dev.fabric.lora;

import dev.fabric.FabricException;
import dev.fabric.gguf.GgufTensorInfo;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One adapted base weight: {@code blk.<layer>.<role>.weight}, a matrix of nOut rows of nIn values (GGUF ne =
 * [nIn, nOut]).
 */
public record LoraTarget(String base, int layer, LoraRole role, int nIn, int nOut) {
    /** The whole name, anchored: a target is exactly a block's projection weight, never a name that contains one. */
    private static final Pattern NAME = Pattern.compile("blk\\.(0|[1-9][0-9]*)\\.([a-z_]+)\\.weight");

    /**
     * The base tensors to adapt: those named exactly {@code blk.N.<role>.weight} for a selected role, 2-D, in
     * (layer, role) order. Selection is by the parsed role, never by substring, so {@code attn_q_norm.weight} (a
     * 1-D norm) is never trained by accident, as a substring match on {@code attn_q} would do.
     *
     * @throws FabricException where no tensor matches, or a matching name is not a matrix
     */
    public static List<LoraTarget> select(List<GgufTensorInfo> tensors, Set<LoraRole> roles, String source) {
        List<LoraTarget> out = new ArrayList<>();
        for (GgufTensorInfo t : tensors) {
            Matcher m = NAME.matcher(t.name());
            if (!m.matches()) continue;
            LoraRole role = LoraRole.ofGguf(m.group(2));
            if (role == null || !roles.contains(role)) continue;
            if (t.nDims() != 2)
                throw new FabricException(source + ": " + t.name() + " has " + t.nDims()
                        + " dimensions; a LoRA target must be a matrix");
            out.add(new LoraTarget(t.name(), Integer.parseInt(m.group(1)), role, Math.toIntExact(t.ne(0)),
                    Math.toIntExact(t.ne(1))));
        }
        if (out.isEmpty())
            throw new FabricException(source + ": no tensor blk.N.<role>.weight for the LoRA roles " + roles);
        out.sort(Comparator.comparingInt(LoraTarget::layer).thenComparing(LoraTarget::role));
        return List.copyOf(out);
    }

    /** The GGUF adapter tensor names: {@code <base>.lora_a} and {@code <base>.lora_b}. */
    public String ggufA() {
        return base + ".lora_a";
    }

    public String ggufB() {
        return base + ".lora_b";
    }

    /** The PEFT module path, e.g. {@code base_model.model.model.layers.3.self_attn.q_proj}. */
    public String peftModule() {
        return "base_model.model.model.layers." + layer + "." + role.hfBlock() + "." + role.hfModule();
    }
}
