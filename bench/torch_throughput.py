"""PyTorch half of bench/compare.py: what convkit_throughput measures, for the twin model in
torch_models.py, printed as the same JSON line.

    python bench/torch_throughput.py --model mnist_cnn --mode train --batch 128 --threads 2

train: optimizer.zero_grad(set_to_none=True), forward, cross-entropy, backward, optimizer.step,
loss.item() (convkit's train_step returns the loss as a float) with model.train(); infer: the
forward under torch.inference_mode() with model.eval(). Input x [B, C, H, W] float32 contiguous
(channels-first) uniform in [0, 1), labels i % K; written once. Every step timed on its own.
"""

import argparse
import json
import resource
import statistics
import sys
import time

import torch
import torch.nn.functional as F
from torch.profiler import ProfilerActivity, profile

import torch_models


def quantile(values: list, q: float) -> float:
    """Nearest-rank quantile, as throughput.cpp computes it."""
    v = sorted(values)
    return v[min(int(q * (len(v) - 1) + 0.5), len(v) - 1)]


def time_steps(args: argparse.Namespace, step) -> list:
    for _ in range(args.warmup):
        step()
    ms = []
    start = time.perf_counter()
    while True:
        t0 = time.perf_counter()
        step()
        ms.append((time.perf_counter() - t0) * 1e3)
        n = len(ms)
        if (n >= args.steps) if args.steps > 0 else (n >= args.min_steps and time.perf_counter() - start >= args.seconds):
            return ms


def train_breakdown(args, model, optimizer, x, y) -> dict:
    """Median ms of forward (with the loss), backward and the update, timed apart."""
    fwd, bwd, upd = [], [], []
    for _ in range(max(10, args.steps // 2 if args.steps > 0 else 20)):
        t0 = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        t1 = time.perf_counter()
        loss.backward()
        t2 = time.perf_counter()
        optimizer.step()
        loss.item()
        t3 = time.perf_counter()
        fwd.append((t1 - t0) * 1e3), bwd.append((t2 - t1) * 1e3), upd.append((t3 - t2) * 1e3)
    return {"forward_ms": statistics.median(fwd), "backward_ms": statistics.median(bwd),
            "update_ms": statistics.median(upd)}


def print_profile(step, steps: int) -> None:
    """torch.profiler's per-op table (self CPU time) over a few more steps, on stderr."""
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            step()
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=20), file=sys.stderr)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", required=True, choices=sorted(torch_models.MODELS))
    p.add_argument("--mode", choices=["train", "infer"], default="train")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: default)")
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--seconds", type=float, default=5)
    p.add_argument("--steps", type=int, default=0, help="> 0: time exactly this many steps")
    p.add_argument("--min-steps", type=int, default=5)
    p.add_argument("--breakdown", action="store_true")
    p.add_argument("--profile", action="store_true", help="torch.profiler op table on stderr, after the timed run")
    p.add_argument("--flops-per-sample", type=float, default=0,
                   help="forward FLOPs per sample for GFLOP/s (default: conv + dense count)")
    args = p.parse_args()

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model, spec = torch_models.build(args.model)
    flops = args.flops_per_sample or torch_models.count_flops(model, spec.input_shape)
    x = torch.rand(args.batch, *spec.input_shape, dtype=torch.float32)
    classes = model(x[:1]).shape[1]
    y = torch.arange(args.batch) % classes

    extra = {}
    if args.mode == "train":
        model.train()
        optimizer = spec.optimizer(model)

        def step() -> float:
            optimizer.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            optimizer.step()
            return loss.item()

        ms = time_steps(args, step)
        if args.breakdown:
            extra["breakdown"] = train_breakdown(args, model, optimizer, x, y)
        if args.profile:
            print_profile(step, max(10, args.steps))
    else:
        model.eval()

        def step() -> None:
            with torch.inference_mode():
                model(x)

        ms = time_steps(args, step)
        if args.profile:
            print_profile(step, max(10, args.steps))

    images_per_second = args.batch * len(ms) / (sum(ms) / 1e3)
    line = {
        "framework": "pytorch",
        "model": args.model,
        "mode": args.mode,
        "batch": args.batch,
        "threads": torch.get_num_threads(),
        "optimizer": type(optimizer).__name__.lower() if args.mode == "train" else "",
        "steps": len(ms),
        "images_per_second": images_per_second,
        "images_per_second_at_median": args.batch / (quantile(ms, 0.5) / 1e3),
        "step_ms_median": quantile(ms, 0.5),
        "step_ms_p90": quantile(ms, 0.9),
        "flops_per_sample": flops,
        "gflops_per_second": flops * (3 if args.mode == "train" else 1) * images_per_second * 1e-9,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "parameters": torch_models.parameter_count(model),
        "torch_version": torch.__version__,
    }
    line.update(extra)
    print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
