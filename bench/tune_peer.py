"""The tuner against its peer: convkit tune (TPE) and Optuna (TPE) driving PyTorch, on the same
search space, trial budget, data and threads; best validation accuracy and wall time.

    .venv/bin/python bench/tune_peer.py --data ../shared/data/mnist [--trials 20] [--epochs 5]

The model is Keras Tuner's example MLP (Flatten - Dense(units, relu) - Dense 10), Adam at a
constant rate, batch 128; the space: units 32..512 step 32, learning rate 1e-4..1e-2 (log). Each
trial's objective is its best epoch's validation accuracy on 10,000 held-out training images
(convkit: its seeded split; PyTorch: a seeded permutation's last 10,000). The PyTorch side is the
fast in-memory loop of bench/torch_mnist_fast.py (normalized tensors, no DataLoader). Each side's
wall time counts the whole study. Needs torch, optuna, numpy (benchmark tooling only).
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import optuna
import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from torch_mnist_fast import load  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent

SPEC = """config: {root}/examples/mnist_mlp.yaml
set: [model.layers.2.rate=0.0, train.schedule.type=constant, train.epochs={epochs},
      dataset.validation_split=0.16667, train.tensorboard=false]
objective: val_accuracy
max_trials: {trials}
searcher: {{type: tpe, startup_trials: 10}}
seed: {seed}
space:
  - {{name: units, key: model.layers.1.units, type: int, low: 32, high: 512, step: 32}}
  - {{name: lr, key: train.optimizer.lr, type: float, low: 1e-4, high: 1e-2, log: true}}
"""


def convkit_side(args) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / "spec.yaml"
        spec.write_text(SPEC.format(root=ROOT, epochs=args.epochs, trials=args.trials,
                                    seed=args.seed))
        start = time.perf_counter()
        subprocess.run([str(args.convkit), "tune", "-q", "--config", str(spec), "--data",
                        str(args.data), "--out", str(Path(tmp) / "study"), "--threads",
                        str(args.threads)], check=True)
        wall = time.perf_counter() - start
        import csv
        rows = list(csv.DictReader((Path(tmp) / "study/trials.csv").open()))
    best = max(rows, key=lambda r: float(r["val_accuracy"]))
    return {"wall_s": wall, "best": float(best["val_accuracy"]),
            "best_params": {"units": best["units"], "lr": best["lr"]}}


def torch_side(args) -> dict:
    start = time.perf_counter()
    torch.set_num_threads(args.threads)
    x, y = load(args.data, "train")
    perm = torch.from_numpy(np.random.default_rng(args.seed).permutation(len(y)))
    x, y = x[perm], y[perm]
    xt, yt, xv, yv = x[:-10000], y[:-10000], x[-10000:], y[-10000:]

    def objective(trial) -> float:
        units = trial.suggest_int("units", 32, 512, step=32)
        lr = trial.suggest_float("lr", 1e-4, 1e-2, log=True)
        torch.manual_seed(trial.number)
        model = nn.Sequential(nn.Flatten(), nn.Linear(784, units), nn.ReLU(), nn.Linear(units, 10))
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        best = 0.0
        for _ in range(args.epochs):
            model.train()
            order = torch.randperm(len(yt))
            for i in range(0, len(yt), 128):
                idx = order[i:i + 128]
                opt.zero_grad(set_to_none=True)
                F.cross_entropy(model(xt[idx]), yt[idx]).backward()
                opt.step()
            model.eval()
            with torch.no_grad():
                correct = sum(int((model(xv[i:i + 1000]).argmax(1) == yv[i:i + 1000]).sum())
                              for i in range(0, len(yv), 1000))
            best = max(best, correct / len(yv))
        return best

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize",
                                sampler=optuna.samplers.TPESampler(seed=args.seed))
    study.optimize(objective, n_trials=args.trials)
    return {"wall_s": time.perf_counter() - start, "best": study.best_value,
            "best_params": study.best_params}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=ROOT / "../shared/data/mnist")
    p.add_argument("--convkit", type=Path, default=ROOT / "build/release/convkit")
    p.add_argument("--trials", type=int, default=20)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    ck = convkit_side(args)
    print("convkit:", json.dumps(ck), flush=True)
    pt = torch_side(args)
    print("optuna+torch:", json.dumps(pt), flush=True)
    print(f"best val accuracy: convkit {100 * ck['best']:.2f}% vs optuna+torch "
          f"{100 * pt['best']:.2f}% ({100 * (ck['best'] - pt['best']):+.2f} points); wall "
          f"{ck['wall_s']:.0f} s vs {pt['wall_s']:.0f} s ({ck['wall_s'] / pt['wall_s']:.2f}x)")


if __name__ == "__main__":
    main()
