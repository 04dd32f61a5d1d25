"""Fabric against the tools users know: Hugging Face transformers (the base model, read from the same GGUF),
peft (the LoRA) and torch (autograd, torch.optim.AdamW).

Python is for tests and benchmarks only; the product never needs it. The Java side writes a case folder
(tests/src/test/java/dev/fabric/e2e/hf/HfCases.java); this script reads it, runs the same computation with the
Python tools and writes result.json with the largest differences, which HuggingFaceCrossCheckTest asserts on.

    python tests/python/hf_crosscheck.py train DIR    # issue 11: three AdamW steps of LoRA, masked loss
    python tests/python/hf_crosscheck.py logits DIR   # issue 12: a PEFT adapter's logits on the GGUF base

Every check runs in float32 (what Fabric computes in) and again in float64; the float64 run is the reference
both float32 results are measured against, so the differences can be read against float32's own error.
"""
import json
import os
import sys

import numpy as np
import torch


def gguf_field(reader, key):
    f = reader.fields.get(key)
    if f is None:
        return None
    v = f.contents()
    return v


def load_base(gguf_path, dtype):
    """The base model as transformers loads it from the GGUF (dequantized), with two gaps of transformers 5.24's
    GGUF config mapping filled from the file itself: qwen3's attention.key_length (head_dim; transformers keeps
    Qwen3Config's default 128) and the vocabulary size of a file without a tokenizer (token_embd's rows)."""
    import gguf
    from transformers import AutoConfig, AutoModelForCausalLM
    from transformers.utils import logging

    logging.set_verbosity_error()
    logging.disable_progress_bar()
    folder, name = os.path.split(os.path.abspath(gguf_path))
    reader = gguf.GGUFReader(gguf_path)
    arch = gguf_field(reader, "general.architecture")
    config = AutoConfig.from_pretrained(folder, gguf_file=name)
    key_length = gguf_field(reader, f"{arch}.attention.key_length")
    if key_length is not None:
        config.head_dim = int(key_length)
    embd = next(t for t in reader.tensors if t.name == "token_embd.weight")
    config.vocab_size = int(embd.shape[1])  # GGUF ne = [n_embd, n_vocab]
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, config=config, dtype=dtype,
                                                 attn_implementation="eager")
    model.eval()  # no dropout anywhere (the LoRA's dropout is 0 too)
    return model


def lora_params(peft_model):
    """The LoRA factors by the names they have in an adapter file (…lora_A.weight)."""
    return {k.replace(".default.weight", ".weight"): p for k, p in peft_model.named_parameters() if "lora_" in k}


def max_diff(a, b):
    """Largest |a-b|, and the same relative to the largest |b|."""
    d = float(np.max(np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64))))
    scale = float(np.max(np.abs(np.asarray(b, dtype=np.float64))))
    return {"abs": d, "rel": d / scale if scale > 0 else d}


def train_torch(folder, c, dtype):
    from peft import PeftModel
    from safetensors.torch import load_file

    model = load_base(os.path.join(folder, c["model"]), dtype)
    pm = PeftModel.from_pretrained(model, os.path.join(folder, "peft_init"), is_trainable=True)
    params = lora_params(pm)
    if next(model.parameters()).dtype != dtype:
        raise SystemExit(f"transformers loaded the base as {next(model.parameters()).dtype}, not {dtype}")
    init = load_file(os.path.join(folder, "peft_init", "adapter_model.safetensors"))
    if sorted(params) != sorted(init):
        raise SystemExit(f"peft's LoRA modules {sorted(params)[:4]}... differ from the file's {sorted(init)[:4]}...")
    loaded_exactly = all(torch.equal(params[k].detach().float(), init[k]) for k in init)
    for p in params.values():
        p.data = p.data.to(dtype)
    ids = torch.tensor(c["input_ids"])
    mask = torch.tensor(c["loss_mask"], dtype=torch.bool)  # mask[s, t]: position t's next token is trained
    # transformers' causal-LM loss shifts the labels itself (logits at t score labels at t+1) and takes the mean
    # over every label that is not -100 in the whole batch: the per-target-token mean Fabric's step uses.
    labels = torch.full_like(ids, -100)
    labels[:, 1:] = torch.where(mask[:, :-1], ids[:, 1:], torch.full_like(ids[:, 1:], -100))
    opt = torch.optim.AdamW(list(params.values()), lr=c["lr"], betas=(c["beta1"], c["beta2"]), eps=c["eps"],
                            weight_decay=c["weight_decay"], foreach=False)
    losses, norms, manual_diff = [], [], 0.0
    for _ in range(c["steps"]):
        opt.zero_grad()
        out = pm(input_ids=ids, labels=labels)
        logp = out.logits[:, :-1].log_softmax(-1).gather(-1, ids[:, 1:, None])[..., 0]
        manual = -logp[mask[:, :-1]].mean()
        manual_diff = max(manual_diff, abs(manual.item() - out.loss.item()))
        # transformers computes its loss from logits cast to float32; the float64 reference uses the same mean
        # computed in float64
        loss = out.loss if dtype == torch.float32 else manual
        loss.backward()
        norms.append(torch.nn.utils.clip_grad_norm_(list(params.values()), c["max_grad_norm"]).item())
        losses.append(loss.item())
        opt.step()
    final = {k: p.detach().to(torch.float64).numpy() for k, p in params.items()}
    start = {k: v.to(torch.float64).numpy() for k, v in init.items()}
    return {"losses": losses, "grad_norms": norms, "final": final, "init": start, "loaded_exactly": loaded_exactly,
            "manual_loss_diff": manual_diff, "targets": int(mask[:, :-1].sum())}


def check_train(folder):
    from safetensors.torch import load_file

    with open(os.path.join(folder, "case.json")) as f:
        c = json.load(f)
    t32 = train_torch(folder, c, torch.float32)
    t64 = train_torch(folder, c, torch.float64)
    fab = {k: v.to(torch.float64).numpy()
           for k, v in load_file(os.path.join(folder, "peft_final", "adapter_model.safetensors")).items()}

    def weights(a, b):
        w = max(max_diff(a[k], b[k])["abs"] for k in b)
        scale = max(float(np.max(np.abs(b[k]))) for k in b)
        upd = max(float(np.max(np.abs((a[k] - t64["init"][k]) - (b[k] - t64["init"][k])))) for k in b)
        upd_scale = max(float(np.max(np.abs(b[k] - t64["init"][k]))) for k in b)
        return {"abs": w, "rel": w / scale, "update_abs": upd, "update_rel": upd / upd_scale}

    r = {
        "torch": torch.__version__,
        "lora_tensors": len(fab),
        "lora_values": int(sum(v.size for v in fab.values())),
        "target_tokens": {"fabric": c["target_tokens"], "torch": t32["targets"]},
        "peft_loaded_initial_adapter_exactly": t32["loaded_exactly"],
        "hf_loss_vs_manual_masked_mean": t32["manual_loss_diff"],
        "losses": {"fabric": c["losses"], "torch32": t32["losses"], "torch64": t64["losses"]},
        "grad_norms": {"fabric": c["grad_norms"], "torch32": t32["grad_norms"], "torch64": t64["grad_norms"]},
        "loss_diff": {"fabric_vs_torch64": max_diff(c["losses"], t64["losses"]),
                      "torch32_vs_torch64": max_diff(t32["losses"], t64["losses"]),
                      "fabric_vs_torch32": max_diff(c["losses"], t32["losses"])},
        "grad_norm_diff": {"fabric_vs_torch64": max_diff(c["grad_norms"], t64["grad_norms"]),
                           "torch32_vs_torch64": max_diff(t32["grad_norms"], t64["grad_norms"])},
        "weight_diff": {"fabric_vs_torch64": weights(fab, t64["final"]),
                        "torch32_vs_torch64": weights(t32["final"], t64["final"]),
                        "fabric_vs_torch32": weights(fab, t32["final"])},
    }
    return r


def check_logits(folder):
    from peft import PeftModel

    with open(os.path.join(folder, "case.json")) as f:
        c = json.load(f)
    ids = torch.tensor([c["input_ids"]])
    n, vocab = len(c["input_ids"]), c["vocab"]
    fab_base = np.fromfile(os.path.join(folder, "base_logits.f32"), dtype="<f4").reshape(n, vocab)
    fab_lora = np.fromfile(os.path.join(folder, "lora_logits.f32"), dtype="<f4").reshape(n, vocab)
    out = {}
    for dtype, tag in ((torch.float32, "torch32"), (torch.float64, "torch64")):
        model = load_base(c["model"], dtype)
        with torch.no_grad():
            base = model(ids).logits[0].to(torch.float64).numpy()
            pm = PeftModel.from_pretrained(model, c["peft"])
            pm.to(dtype)
            pm.eval()
            lora = pm(ids).logits[0].to(torch.float64).numpy()
        out[tag] = (base, lora)
    b64, l64 = out["torch64"]
    b32, l32 = out["torch32"]
    return {
        "torch": torch.__version__,
        "tokens": n,
        "vocab": vocab,
        "adapter_effect": max_diff(l64, b64),
        "base": {"fabric_vs_torch64": max_diff(fab_base, b64), "torch32_vs_torch64": max_diff(b32, b64)},
        "lora": {"fabric_vs_torch64": max_diff(fab_lora, l64), "torch32_vs_torch64": max_diff(l32, l64),
                 "fabric_vs_torch32": max_diff(fab_lora, l32)},
        "argmax_agree": float(np.mean(np.argmax(fab_lora, -1) == np.argmax(l64, -1))),
    }


def main():
    what, folder = sys.argv[1], sys.argv[2]
    torch.manual_seed(0)
    torch.set_num_threads(int(os.environ.get("FABRIC_PY_THREADS", "2")))
    r = {"train": check_train, "logits": check_logits}[what](folder)
    with open(os.path.join(folder, "result.json"), "w") as f:
        json.dump(r, f, indent=1)
    print(json.dumps(r, indent=1))


if __name__ == "__main__":
    main()
