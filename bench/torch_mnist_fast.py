"""PyTorch's fast MNIST recipe, the reference for bench/time_to_accuracy.py.

The usual "MNIST in seconds on CPU" setup: the whole dataset in memory as one float tensor
(normalized once), no DataLoader; conv 5x5/24 + BN + ReLU + maxpool, conv 3x3/32 + BN + ReLU +
maxpool, dense 256 + ReLU, dense 10; Adam with OneCycleLR; batch 256; 1 or 2 epochs. Reads the
IDX .gz files itself (gzip + numpy). Prints one JSON line: test accuracy, timings, per-epoch history.

    python bench/torch_mnist_fast.py --data ../shared/data/mnist --epochs 1 --seed 0 --threads 2
"""

import argparse
import gzip
import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

MEAN, STD = 0.1307, 0.3081  # MNIST training-set pixel statistics (of x / 255)


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (optionally .gz): big-endian header (magic with the rank in its low byte,
    then one uint32 per dimension), then uint8 data."""
    with (gzip.open if path.suffix == ".gz" else open)(path, "rb") as f:
        raw = f.read()
    magic = int.from_bytes(raw[:4], "big")
    if magic >> 8 != 0x08:
        raise ValueError(f"{path}: not an IDX uint8 file (magic {magic:#x})")
    rank = magic & 0xFF
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(rank)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * rank).reshape(dims)


def load(data: Path, split: str) -> tuple:
    """(images [N, 1, 28, 28] float32 normalized, labels [N] int64) of split 'train' or 't10k'."""
    def find(name: str) -> Path:
        for p in (data / f"{name}.gz", data / name, data / "mnist" / f"{name}.gz", data / "mnist" / name):
            if p.exists():
                return p
        raise FileNotFoundError(f"{name}(.gz) not found in {data}")
    x = read_idx(find(f"{split}-images-idx3-ubyte"))
    y = read_idx(find(f"{split}-labels-idx1-ubyte"))
    images = (torch.from_numpy(x.astype(np.float32)).unsqueeze(1) / 255 - MEAN) / STD
    return images, torch.from_numpy(y.astype(np.int64))


def model() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 24, 5, bias=False), nn.BatchNorm2d(24), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(24, 32, 3, bias=False), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 5 * 5, 256), nn.ReLU(), nn.Linear(256, 10))


def evaluate(net: nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int = 1000) -> float:
    net.eval()
    correct = 0
    with torch.inference_mode():
        for i in range(0, len(x), batch):
            correct += (net(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum().item()
    return correct / len(x)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", default="../shared/data/mnist")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--max-lr", type=float, default=1e-2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: default)")
    args = p.parse_args()

    t0 = time.perf_counter()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    x_train, y_train = load(Path(args.data), "train")
    x_test, y_test = load(Path(args.data), "t10k")
    load_s = time.perf_counter() - t0

    net = model()
    opt = torch.optim.Adam(net.parameters(), lr=args.max_lr)
    steps_per_epoch = (len(x_train) + args.batch - 1) // args.batch
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.max_lr, epochs=args.epochs,
                                                steps_per_epoch=steps_per_epoch)
    history = []
    t_train = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        t_epoch = time.perf_counter()
        net.train()
        order = torch.randperm(len(x_train))
        loss_sum, correct = 0.0, 0
        for i in range(0, len(x_train), args.batch):
            idx = order[i:i + args.batch]
            xb, yb = x_train[idx], y_train[idx]
            opt.zero_grad(set_to_none=True)
            logits = net(xb)
            loss = F.cross_entropy(logits, yb)
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += loss.item() * len(idx)
            correct += (logits.argmax(1) == yb).sum().item()
        history.append({"epoch": epoch, "loss": loss_sum / len(x_train), "accuracy": correct / len(x_train),
                        "seconds": time.perf_counter() - t_epoch})
    train_s = time.perf_counter() - t_train
    t_eval = time.perf_counter()
    accuracy = evaluate(net, x_test, y_test)
    print(json.dumps({
        "framework": "pytorch", "recipe": "torch_mnist_fast", "epochs": args.epochs, "batch": args.batch,
        "max_lr": args.max_lr, "seed": args.seed, "threads": torch.get_num_threads(),
        "test_accuracy": accuracy, "load_seconds": load_s, "train_seconds": train_s,
        "eval_seconds": time.perf_counter() - t_eval, "parameters": sum(p.numel() for p in net.parameters()),
        "history": history}), flush=True)


if __name__ == "__main__":
    main()
