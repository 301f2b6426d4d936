"""Time to accuracy on MNIST: `convkit train` with a fast config vs PyTorch's fast recipe
(torch_mnist_fast.py, 1 and 2 epochs), over several seeds, interleaved run by run.

Wall time is the whole command (process start, data loading, training, final test evaluation,
and for convkit writing the run directory), measured from outside. Accuracies: convkit's
metrics.json test_accuracy (with its history.csv per epoch), PyTorch's final test accuracy.
Writes bench/results/time_to_accuracy-<date>.json and prints a markdown table.

    python bench/time_to_accuracy.py --convkit build/release/convkit --data ../shared/data/mnist
"""

import argparse
import csv
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent


def timed(cmd: list, threads: int) -> tuple:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env, timeout=3600)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {' '.join(map(str, cmd))}\n{proc.stderr}")
    return wall, load, proc.stdout


def run_convkit(args, config_args: list, seed: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="convkit-tta-") as out:
        cmd = [args.convkit, "train", *config_args, "--data", args.data, "--seed", str(seed), "-q", "--out", out]
        wall, load, _ = timed(cmd, args.threads)
        metrics = json.loads((Path(out) / "metrics.json").read_text())
        with open(Path(out) / "history.csv") as f:
            history = [{k: float(v) if v else None for k, v in row.items()} for row in csv.DictReader(f)]
    return {"framework": "convkit", "label": args.label, "seed": seed, "wall_seconds": wall, "loadavg_1min": load,
            "test_accuracy": metrics["test_accuracy"], "train_seconds": metrics["train_seconds"],
            "epoch_seconds": metrics.get("epoch_seconds"), "history": history}


def run_torch(args, epochs: int, seed: int) -> dict:
    cmd = [sys.executable, str(BENCH / "torch_mnist_fast.py"), "--data", args.data, "--epochs", str(epochs),
           "--seed", str(seed), "--threads", str(args.threads)]
    wall, load, stdout = timed(cmd, args.threads)
    r = json.loads(stdout.strip().splitlines()[-1])
    return dict(r, label=f"pytorch fast recipe, {epochs} epoch{'s' if epochs > 1 else ''}", wall_seconds=wall,
                loadavg_1min=load)


def summarize(runs: list) -> list:
    rows = []
    for label in dict.fromkeys(r["label"] for r in runs):
        rs = [r for r in runs if r["label"] == label]
        acc = [r["test_accuracy"] for r in rs]
        rows.append({"label": label, "runs": len(rs),
                     "wall_seconds_median": statistics.median(r["wall_seconds"] for r in rs),
                     "train_seconds_median": statistics.median(r["train_seconds"] for r in rs),
                     "accuracy_median": statistics.median(acc), "accuracy_min": min(acc), "accuracy_max": max(acc)})
    return rows


def markdown(rows: list) -> str:
    out = ["| run | seeds | wall s (median) | train s (median) | test accuracy median [min, max] |",
           "| --- | ---: | ---: | ---: | --- |"]
    for r in rows:
        out.append(f"| {r['label']} | {r['runs']} | {r['wall_seconds_median']:.1f} | {r['train_seconds_median']:.1f} "
                   f"| {100 * r['accuracy_median']:.2f}% [{100 * r['accuracy_min']:.2f}, {100 * r['accuracy_max']:.2f}] |")
    return "\n".join(out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--convkit", default=str(ROOT / "build/release/convkit"))
    p.add_argument("--data", default=str(ROOT.parent / "shared/data/mnist"))
    p.add_argument("--config", default=None,
                   help="convkit config (default: examples/mnist_fast.yaml if present, else "
                        "examples/mnist_default.yaml with --set train.epochs=1)")
    p.add_argument("--set", action="append", default=[], help="passed to convkit train (repeatable)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    p.add_argument("--torch-epochs", type=int, nargs="*", default=[1, 2])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", default=str(BENCH / "results"))
    args = p.parse_args()

    sets = list(args.set)
    if args.config is None:
        fast = ROOT / "examples/mnist_fast.yaml"
        args.config = str(fast if fast.exists() else ROOT / "examples/mnist_default.yaml")
        if not fast.exists():
            sets.insert(0, "train.epochs=1")
    config_args = ["--config", args.config] + [a for s in sets for a in ("--set", s)]
    args.label = f"convkit {Path(args.config).name}" + (f" ({', '.join(sets)})" if sets else "")

    runs = []
    for i, seed in enumerate(args.seeds):
        jobs = [lambda s=seed: run_convkit(args, config_args, s)] + \
               [lambda s=seed, e=e: run_torch(args, e, s) for e in args.torch_epochs]
        if i % 2:
            jobs.reverse()  # alternate who goes first
        for job in jobs:
            r = job()
            runs.append(r)
            print(f"seed {seed}: {r['label']}: {r['wall_seconds']:.1f} s, test accuracy {100 * r['test_accuracy']:.2f}%",
                  flush=True)

    rows = summarize(runs)
    table = markdown(rows)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = Path(args.out) / f"time_to_accuracy-{stamp}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"date": stamp, "config": args.config, "sets": sets, "threads": args.threads,
                               "summary": rows, "runs": runs, "markdown": table}, indent=2) + "\n")
    print("\n" + table + f"\n\nWall time: the whole command (start, data, training, test evaluation). JSON: {out}")


if __name__ == "__main__":
    main()
