"""Parallel trials: `convkit tune --workers 2` (one thread each) against one worker with two
threads, on the same study spec, interleaved, reporting trials per hour and the ratio.

    python3 bench/tune_parallel.py --data ../shared/data/mnist [--reps 2] [--trials 8]

The spec (written to a temporary folder): examples/mnist_cnn.yaml on a fixed 6,000-image subset,
2 epochs per trial, random search over the learning rate, batch size and first-layer filters.
Each side's wall time counts the whole `convkit tune` command.
"""

import argparse
import json
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SPEC = """config: {root}/examples/mnist_cnn.yaml
set: [train.epochs=2, dataset.train_samples=6000, dataset.validation_split=0.2,
      dataset.test_samples=1000, train.tensorboard=false]
objective: val_accuracy
max_trials: {trials}
searcher: random
seed: 1
space:
  - {{name: lr, key: train.optimizer.lr, type: float, low: 1e-4, high: 1e-2, log: true}}
  - {{name: batch, key: train.batch_size, type: choice, values: [64, 128]}}
"""


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=ROOT / "../shared/data/mnist")
    p.add_argument("--convkit", type=Path, default=ROOT / "build/release/convkit")
    p.add_argument("--reps", type=int, default=2)
    p.add_argument("--trials", type=int, default=8)
    args = p.parse_args()
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / "spec.yaml"
        spec.write_text(SPEC.format(root=ROOT, trials=args.trials))
        for rep in range(args.reps):
            for workers, threads in ((1, 2), (2, 1)):
                out = Path(tmp) / f"study-{rep}-{workers}"
                start = time.perf_counter()
                subprocess.run([str(args.convkit), "tune", "-q", "--config", str(spec), "--data",
                                str(args.data), "--out", str(out), "--workers", str(workers),
                                "--threads", str(threads)], check=True)
                wall = time.perf_counter() - start
                per_hour = 3600 * args.trials / wall
                runs.append({"rep": rep, "workers": workers, "threads": threads, "wall_s": wall,
                             "trials_per_hour": per_hour})
                print(f"rep {rep} workers {workers} x {threads} threads: {wall:.1f} s, "
                      f"{per_hour:.0f} trials/h", flush=True)
    one = statistics.median(r["trials_per_hour"] for r in runs if r["workers"] == 1)
    two = statistics.median(r["trials_per_hour"] for r in runs if r["workers"] == 2)
    print(f"two workers / one worker: {two / one:.2f}x trials per hour")
    print(json.dumps({"trials": args.trials, "runs": runs, "ratio": two / one}))


if __name__ == "__main__":
    main()
