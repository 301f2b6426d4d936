"""What on-the-fly augmentation costs a training run: `convkit train` images/s with the full
MNIST augmentation set (rotation, shifts, shear, zoom, elastic distortion) against the same
config with no augmentation, interleaved run by run, several repetitions. The augmenter runs in
the loader's worker thread beside the step's OpenMP threads, so this is the end-to-end figure
(the loader-only ceiling is bench/augment_bench). Reports the median images/s of each and the
drop; issue 5 asks for a drop of at most 15%.
Writes bench/results/augment_cost-<date>.json and prints a markdown table.

    python bench/augment_cost.py --convkit build/release/convkit --data ../shared/data/mnist \
        [--config examples/mnist_best.yaml] [--samples 12800] [--repeat 3] [--threads 2]
"""

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent

FULL_SET = ("{rotation: 10, width_shift: 0.1, height_shift: 0.1, shear: 10, zoom: 0.1, "
            "fill_mode: constant, elastic: {alpha: 34, sigma: 4, probability: 1.0}}")


def images_per_second(args, augment: str) -> float:
    with tempfile.TemporaryDirectory(prefix="convkit-augcost-") as out:
        cmd = [args.convkit, "train", "-q", "--config", args.config, "--data", args.data, "--out", out,
               "--epochs", str(args.epochs), "--set", f"dataset.train_samples={args.samples}",
               "--set", "dataset.test_samples=1000", "--set", "dataset.validation_split=0",
               "--set", f"dataset.augment={augment}", "--set", f"train.threads={args.threads}",
               "--set", "train.tensorboard=false"]
        env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env, timeout=3600)
        if proc.returncode != 0:
            sys.exit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stdout}\n{proc.stderr}")
        return json.loads(Path(out, "metrics.json").read_text())["images_per_second"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--convkit", default=str(ROOT / "build/release/convkit"))
    p.add_argument("--data", required=True, help="directory with the MNIST IDX files")
    p.add_argument("--config", default=str(ROOT / "examples/mnist_best.yaml"))
    p.add_argument("--samples", type=int, default=12800, help="training images per epoch")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()

    rows = {"none": [], "full": []}
    for r in range(args.repeat):
        for name, augment in (("none", "{}"), ("full", FULL_SET)):
            ips = images_per_second(args, augment)
            rows[name].append(ips)
            print(f"rep {r + 1}: {name:4s} {ips:8.0f} img/s (load {os.getloadavg()[0]:.1f})", flush=True)
    none, full = statistics.median(rows["none"]), statistics.median(rows["full"])
    drop = 1 - full / none
    pairs = [1 - f / n for n, f in zip(rows["none"], rows["full"])]
    result = {"config": args.config, "threads": args.threads, "samples": args.samples, "epochs": args.epochs,
              "augment": FULL_SET, "images_per_second": rows, "median_none": none, "median_full": full,
              "drop": drop, "drop_per_pair": pairs}
    out = BENCH / "results" / f"augment_cost-{datetime.date.today()}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"\n| config | thr | no augmentation img/s | full MNIST set img/s | drop | drop per pair |")
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    print(f"| {Path(args.config).name} | {args.threads} | {none:,.0f} | {full:,.0f} | {drop:.1%} | "
          f"{', '.join(f'{x:.1%}' for x in pairs)} |")
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
