"""Cross-check of Fabric's AdamW, warmup-cosine schedule, gradient clipping and PEFT files against PyTorch.

Run by TorchCrossCheckTest when a Python with tests/python/requirements.txt is at hand (FABRIC_PYTHON, or the
venv .ci/run makes), else by hand. With a venv holding torch and safetensors (transformers is
optional: without it, the schedule is the LambdaLR of transformers' documented formula):

    ./mvnj -B -q -pl finetune -am test-compile -DskipTests
    java -cp "$(cat finetune/target/cp.txt):finetune/target/classes:finetune/target/test-classes" \
        dev.fabric.train.TorchCrossCheck /tmp/xcheck        # cp.txt: mvn dependency:build-classpath
    /path/to/venv/bin/python finetune/src/test/python/torch_crosscheck.py /tmp/xcheck

Then `java ... dev.fabric.train.TorchCrossCheck --read-peft /tmp/xcheck` reads the adapter PEFT saved back with
Fabric's reader and compares it with the one Fabric wrote.

It replays the raw gradients Fabric saw through torch.optim.AdamW (after clip_grad_norm_) with the same schedule
and prints the largest differences in the learning rates, the norms and the final parameters (also written to
FOLDER/result.json).
"""
import json
import math
import sys

import torch


def main(folder):
    with open(f"{folder}/adamw.json") as f:
        d = json.load(f)
    params = [torch.nn.Parameter(torch.tensor(t, dtype=torch.float32)) for t in d["init"]]
    opt = torch.optim.AdamW(params, lr=d["lr"], betas=(d["beta1"], d["beta2"]), eps=d["eps"],
                            weight_decay=d["weight_decay"], foreach=False)
    try:
        from transformers import get_cosine_schedule_with_warmup
        sched = get_cosine_schedule_with_warmup(opt, d["warmup"], d["steps"])
        which = "transformers.get_cosine_schedule_with_warmup"
    except ImportError:
        w, n = d["warmup"], d["steps"]

        def lam(s):
            if s < w:
                return s / max(1, w)
            p = (s - w) / max(1, n - w)
            return max(0.0, 0.5 * (1.0 + math.cos(math.pi * 0.5 * 2.0 * p)))
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lam)
        which = "LambdaLR with transformers' cosine formula (transformers not installed)"
    lr_diff = norm_diff = 0.0
    for step, grads in enumerate(d["grads"]):
        lr_diff = max(lr_diff, abs(opt.param_groups[0]["lr"] - d["lrs"][step]))
        for p, g in zip(params, grads):
            p.grad = torch.tensor(g, dtype=torch.float32)
        norm = torch.nn.utils.clip_grad_norm_(params, d["max_norm"])
        norm_diff = max(norm_diff, abs(norm.item() - d["grad_norms"][step]) / max(1e-30, d["grad_norms"][step]))
        opt.step()
        sched.step()
    final = [torch.tensor(t, dtype=torch.float32) for t in d["final"]]
    diff = max((p.detach() - f).abs().max().item() for p, f in zip(params, final))
    same = sum(int((p.detach() == f).sum().item()) for p, f in zip(params, final))
    total = sum(f.numel() for f in final)
    print(f"torch {torch.__version__}, schedule: {which}")
    print(f"steps {len(d['grads'])}: max |lr diff| {lr_diff:.3e}, max relative grad-norm diff {norm_diff:.3e}")
    print(f"final parameters: max |diff| {diff:.3e}, bit-identical {same}/{total}")
    result = {"torch": torch.__version__, "steps": len(d["grads"]), "lr_diff": lr_diff, "grad_norm_rel_diff": norm_diff,
              "final_max_abs_diff": diff, "final_bit_identical": same, "final_values": total}
    with open(f"{folder}/result.json", "w") as f:
        json.dump(result, f, indent=1)

    from safetensors.torch import load_file
    t = load_file(f"{folder}/peft/adapter_model.safetensors")
    print(f"safetensors.torch.load_file: {len(t)} tensors, e.g.",
          {k: list(v.shape) for k, v in list(t.items())[:2]})
    with open(f"{folder}/peft/adapter_config.json") as f:
        print("adapter_config.json:", json.load(f))
    try:
        from peft import PeftModel
        from transformers import LlamaConfig, LlamaForCausalLM
    except ImportError:
        return
    # The same Llama shape as TorchCrossCheck's targets, randomly initialised (nothing is downloaded).
    torch.manual_seed(0)
    base = LlamaForCausalLM(LlamaConfig(vocab_size=32, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
                                        num_attention_heads=4, num_key_value_heads=2, head_dim=16))
    model = PeftModel.from_pretrained(base, f"{folder}/peft")
    loaded = {k: v for k, v in model.state_dict().items() if "lora_" in k}
    same = 0
    for k, v in t.items():
        mk = k.replace(".weight", ".default.weight")
        if mk in loaded and torch.equal(loaded[mk], v):
            same += 1
    print(f"PeftModel.from_pretrained on a transformers Llama: {len(loaded)} LoRA tensors in the model, "
          f"{same}/{len(t)} of the file's loaded into them unchanged")
    result.update({"peft_lora_tensors_in_model": len(loaded), "peft_loaded_unchanged": same, "peft_file_tensors": len(t)})
    with open(f"{folder}/result.json", "w") as f:
        json.dump(result, f, indent=1)
    model.save_pretrained(f"{folder}/peft_saved")   # PEFT's own writer, for: TorchCrossCheck --read-peft FOLDER
    print(f"saved {folder}/peft_saved with PEFT's save_pretrained")

if __name__ == "__main__":
    main(sys.argv[1])
