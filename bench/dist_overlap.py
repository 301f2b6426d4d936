"""Data-parallel on one 2-core machine: 2 ranks x 1 thread (`convkit train --nproc 2`) against
1 rank x 2 threads, same global batch, interleaved; and the share of the gradient all-reduce
that backward hides (the same 2-rank run with train.distributed.overlap false measures the
whole all-reduce after backward; overlapped, only what backward could not hide is waited for).

    python3 bench/dist_overlap.py --data ../shared/data/mnist [--reps 3] [--config CONFIG]
                                  [--bucket-mb 1]

Each run is one epoch of the config (default: the default MNIST model, batch 128); images/s is
the epoch's, from metrics.json; the waits are what rank 0 prints ("all-reduce: ...").
"""

import argparse
import json
import re
import statistics
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WAIT = re.compile(r"all-reduce: ([\d.]+) MB of gradients per step in ([\d.]+) buckets, "
                  r"([\d.]+) ms per step waited")


def run(binary, data, out, config, ranks, threads, overlap, bucket_mb):
    cmd = [binary, "train", "-q", "--data", data, "--epochs", "1", "-o", out,
           "--set", f"train.threads={threads}", "--set", "train.tensorboard=false",
           "--set", f"train.distributed.overlap={'true' if overlap else 'false'}",
           "--set", f"train.distributed.bucket_mb={bucket_mb}"]
    if config:
        cmd += ["--config", config]
    if ranks > 1:
        cmd += ["--nproc", str(ranks)]
    text = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    metrics = json.loads((Path(out) / "metrics.json").read_text())
    wait = WAIT.search(text)
    return {"images_per_second": metrics["images_per_second"],
            "wait_ms": float(wait.group(3)) if wait else 0.0,
            "mb": float(wait.group(1)) if wait else 0.0,
            "buckets": float(wait.group(2)) if wait else 0.0}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--config", default="")
    ap.add_argument("--binary", default=str(ROOT / "build/release/convkit"))
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--bucket-mb", type=float, default=1.0)
    args = ap.parse_args()
    sides = {"1 rank x 2 threads": (1, 2, True),
             "2 ranks x 1 thread": (2, 1, True),
             "2 ranks x 1 thread, no overlap": (2, 1, False)}
    results = {name: [] for name in sides}
    with tempfile.TemporaryDirectory() as tmp:
        for rep in range(args.reps):
            for name, (ranks, threads, overlap) in sides.items():
                out = f"{tmp}/{rep}-{ranks}-{overlap}"
                r = run(args.binary, args.data, out, args.config, ranks, threads, overlap,
                        args.bucket_mb)
                results[name].append(r)
                print(f"rep {rep + 1}: {name}: {r['images_per_second']:.0f} images/s, "
                      f"waited {r['wait_ms']:.2f} ms/step", flush=True)
    median = {name: statistics.median(r["images_per_second"] for r in rs)
              for name, rs in results.items()}
    wait = {name: statistics.median(r["wait_ms"] for r in rs) for name, rs in results.items()}
    one, two, blocking = sides.keys()
    r0 = results[two][0]
    print(f"\nall-reduce: {r0['mb']:.1f} MB per step in {r0['buckets']:.1f} buckets of at most "
          f"{args.bucket_mb:g} MB")
    for name in sides:
        print(f"{name}: {median[name]:.0f} images/s (median of {args.reps})")
    print(f"2 ranks x 1 thread / 1 rank x 2 threads: {median[two] / median[one]:.2f}x "
          f"(target >= 0.9)")
    hidden = 1 - wait[two] / wait[blocking] if wait[blocking] > 0 else float("nan")
    print(f"all-reduce waited after backward: {wait[two]:.2f} ms/step overlapped, "
          f"{wait[blocking]:.2f} ms/step not: {100 * hidden:.0f}% hidden behind backward")


if __name__ == "__main__":
    main()
