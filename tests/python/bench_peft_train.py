"""Benchmark (not a test): LoRA training speed of Hugging Face peft + torch on a GGUF model, the tool most users
would otherwise pick; to set beside `fabric bench tune` on the same machine and threads.

    python tests/python/bench_peft_train.py MODEL.gguf [--dtype float32|bfloat16] [--rank 16] [--ctx 256]
        [--threads 2] [--steps 3]

The model is read by transformers from the GGUF (dequantized to --dtype), LoRA of --rank (alpha 2·rank, no
dropout) on the seven projections of every layer (q/k/v/o, gate/up/down), one sequence of --ctx random tokens per
step with every position under the loss, torch.optim.AdamW; one warm-up step, then --steps timed steps of
forward + backward + optimizer. Prints tokens/s, the resident set after loading and the peak RSS (ru_maxrss,
which includes transformers' loading: the GGUF is dequantized through numpy first) and, separately, the peak
during the timed steps (sampled).
"""
import argparse
import os
import resource
import sys
import threading
import time

import psutil
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hf_crosscheck import load_base  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    ap.add_argument("--rank", type=int, default=16)
    ap.add_argument("--ctx", type=int, default=256)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=3)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    from peft import LoraConfig, get_peft_model

    dtype = getattr(torch, a.dtype)
    t0 = time.perf_counter()
    model = load_base(a.model, dtype)
    proc = psutil.Process()
    load_s = time.perf_counter() - t0
    cfg = LoraConfig(r=a.rank, lora_alpha=2 * a.rank, lora_dropout=0.0, bias="none", task_type="CAUSAL_LM",
                     target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"])
    pm = get_peft_model(model, cfg)
    pm.train()
    params = [p for p in pm.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4)
    vocab = model.config.vocab_size
    rss_loaded = proc.memory_info().rss

    peak_steps = [0]
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            peak_steps[0] = max(peak_steps[0], proc.memory_info().rss)
            time.sleep(0.05)

    def step():
        ids = torch.randint(0, vocab, (1, a.ctx))
        opt.zero_grad()
        loss = pm(input_ids=ids, labels=ids).loss
        loss.backward()
        opt.step()
        return loss.item()

    step()  # warm-up
    th = threading.Thread(target=sample, daemon=True)
    th.start()
    t1, c1 = time.perf_counter(), time.process_time()
    for _ in range(a.steps):
        step()
    secs, cpu = time.perf_counter() - t1, time.process_time() - c1
    stop.set()
    th.join()
    # the loss predicts positions 1..ctx-1 from 0..ctx-2; tokens/s counts the ctx tokens processed per step,
    # as fabric bench tune does
    tps = a.steps * a.ctx / secs
    trainable = sum(p.numel() for p in params)
    print(f"peft {__import__('peft').__version__}, transformers {__import__('transformers').__version__}, "
          f"torch {torch.__version__}, {a.threads} threads, {a.dtype}")
    print(f"model {a.model}: loaded in {load_s:.1f} s; LoRA rank {a.rank} on 7 roles: {trainable:,} trainable")
    print(f"ctx {a.ctx}, batch 1, {a.steps} timed steps: {secs / a.steps:.2f} s/step, {tps:.2f} tokens/s; "
          f"CPU time {cpu / a.steps:.2f} s/step ({cpu / secs:.2f} cores busy on average)")
    print(f"RSS after load {rss_loaded / 2**20:.0f} MiB; peak during steps {peak_steps[0] / 2**20:.0f} MiB; "
          f"peak RSS overall (ru_maxrss, includes loading) {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
