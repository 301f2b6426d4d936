"""Hyperband (successive halving) against random search on a CNN space: does it reach the best
validation accuracy of a 30-trial random search, and with what share of its epochs?

    python3 bench/tune_hyperband.py --data ../shared/data/fashion-mnist [--random-trials 30]
        [--hyperband-trials 40] [--epochs 9] [--eta 3]

The space (over examples/mnist_cnn.yaml on a fixed 10,000-image subset, 20% held out for
validation, a constant learning rate so that continuing a run equals training it at once):
first and second conv filters, kernel size, dropout, learning rate (log), batch size and
optimizer. Random search trains every trial for --epochs; Hyperband's rungs are 1, eta, ...,
--epochs. Epochs are counted from each run's history.csv.
"""

import argparse
import csv
import json
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SPEC = """config: {root}/examples/mnist_cnn.yaml
set: [dataset.name={dataset}, dataset.train_samples=10000, dataset.validation_split=0.2,
      dataset.test_samples=1000, train.schedule.type=constant, train.epochs={epochs},
      train.tensorboard=false]
objective: val_accuracy
max_trials: {trials}
searcher: random
seed: {seed}
{extra}
space:
  - {{name: filters1, key: model.layers.0.filters, type: int, low: 16, high: 64, step: 16}}
  - {{name: filters2, key: model.layers.1.filters, type: int, low: 32, high: 128, step: 32}}
  - {{name: kernel, key: model.layers.0.kernel, type: choice, values: [3, 5]}}
  - {{name: dropout, key: model.layers.3.rate, type: float, low: 0.0, high: 0.5}}
  - {{name: lr, key: train.optimizer.lr, type: float, low: 1e-4, high: 3e-2, log: true}}
  - {{name: batch, key: train.batch_size, type: choice, values: [32, 64, 128]}}
  - {{name: optimizer, key: train.optimizer.type, type: choice, values: [adam, sgd]}}
"""


def study(convkit: Path, data: Path, out: Path, text: str) -> dict:
    spec = out.with_suffix(".yaml")
    spec.write_text(text)
    start = time.perf_counter()
    subprocess.run([str(convkit), "tune", "-q", "--config", str(spec), "--data", str(data),
                    "--out", str(out)], check=True)
    wall = time.perf_counter() - start
    rows = list(csv.DictReader((out / "trials.csv").open()))
    epochs = sum(len((p / "history.csv").read_text().strip().splitlines()) - 1
                 for p in (out / "trials").glob("*/run-*"))
    best = max(float(r["val_accuracy"]) for r in rows if r["val_accuracy"] and r["state"] != "pruned")
    return {"trials": len(rows), "epochs": epochs, "best_val_accuracy": best, "wall_s": wall}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=ROOT / "../shared/data/fashion-mnist")
    p.add_argument("--dataset", default="fashion-mnist")
    p.add_argument("--convkit", type=Path, default=ROOT / "build/release/convkit")
    p.add_argument("--random-trials", type=int, default=30)
    p.add_argument("--hyperband-trials", type=int, default=40)
    p.add_argument("--epochs", type=int, default=9)
    p.add_argument("--eta", type=int, default=3)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--keep", type=Path, help="keep the studies in this folder")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        common = dict(root=ROOT, dataset=args.dataset, epochs=args.epochs, seed=args.seed)
        hb = study(args.convkit, args.data, root / "hyperband", SPEC.format(
            trials=args.hyperband_trials, extra=f"hyperband: {{min_epochs: 1, max_epochs: "
            f"{args.epochs}, eta: {args.eta}}}", **common))
        print("hyperband:", json.dumps(hb), flush=True)
        rs = study(args.convkit, args.data, root / "random", SPEC.format(
            trials=args.random_trials, extra="", **common))
        print("random:   ", json.dumps(rs), flush=True)
    print(f"hyperband best {hb['best_val_accuracy']:.4f} vs random {rs['best_val_accuracy']:.4f} "
          f"({'reached' if hb['best_val_accuracy'] >= rs['best_val_accuracy'] else 'not reached'}) "
          f"with {hb['epochs']} of {rs['epochs']} epochs ({hb['epochs'] / rs['epochs']:.2f}); "
          f"wall {hb['wall_s']:.0f} s vs {rs['wall_s']:.0f} s")


if __name__ == "__main__":
    main()
