#!/usr/bin/env python3
"""Turns an MNIST-family IDX dataset (Fashion-MNIST by default) into a folder of images as users
have them: DIR/train/<class>/*.jpg and DIR/test/<class>/*.jpg, each image resized to a random
size (width and height drawn independently, 40 to 96 px by default) and tinted into RGB (the grey
level scales a random colour; the background gets another). Used by the folder benchmarks: the
accuracy run (a zoo network trained on the tree), the loader speed against torchvision, and, with
--min-size 300 --max-size 500, the memory run (a tree whose decoded size is over 2 GB).

  bench/make_image_tree.py --data ../shared/data/fashion-mnist --out /tmp/fashion-jpeg

Needs numpy and Pillow (bench/run_bench.sh's .venv, or `pip install numpy pillow`).
"""
import argparse
import gzip
import os
import struct
import sys
import time

import numpy as np
from PIL import Image

FASHION = ["T-shirt_top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
           "Bag", "Ankle_boot"]


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    dims = magic & 0xFF
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def find(data_dir, name):
    for candidate in (name + ".gz", name):
        path = os.path.join(data_dir, candidate)
        if os.path.exists(path):
            return path
    sys.exit(f"{data_dir}: missing {name}(.gz)")


def write_split(images, labels, out_dir, classes, rng, args):
    for name in classes:
        os.makedirs(os.path.join(out_dir, name), exist_ok=True)
    start = time.time()
    total_bytes = decoded_bytes = 0
    n = len(images) if args.limit <= 0 else min(args.limit, len(images))
    for i in range(n):
        grey = images[i].astype(np.float32) / 255.0
        w, h = rng.integers(args.min_size, args.max_size + 1, size=2)
        ink = rng.uniform(0.35, 1.0, size=3)      # the object's colour
        paper = rng.uniform(0.0, 0.35, size=3)    # the background's
        rgb = paper[None, None, :] * (1 - grey[:, :, None]) + ink[None, None, :] * grey[:, :, None]
        img = Image.fromarray((rgb * 255 + 0.5).astype(np.uint8), "RGB")
        img = img.resize((int(w), int(h)), Image.BILINEAR)
        path = os.path.join(out_dir, classes[labels[i]], f"{i:05d}.{args.format}")
        if args.format == "jpg":
            img.save(path, quality=args.quality)
        else:
            img.save(path)
        total_bytes += os.path.getsize(path)
        decoded_bytes += int(w) * int(h) * 3
        if (i + 1) % 10000 == 0 or i + 1 == n:
            rate = (i + 1) / max(time.time() - start, 1e-9)
            print(f"{out_dir}: {i + 1}/{n} images, {rate:.0f}/s, ETA {(n - i - 1) / rate:.0f} s",
                  flush=True)
    return n, total_bytes, decoded_bytes


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default="../shared/data/fashion-mnist",
                   help="folder with the four IDX files")
    p.add_argument("--out", required=True)
    p.add_argument("--min-size", type=int, default=40)
    p.add_argument("--max-size", type=int, default=96)
    p.add_argument("--format", choices=["jpg", "png"], default="jpg")
    p.add_argument("--quality", type=int, default=90)
    p.add_argument("--limit", type=int, default=0, help="at most this many images per split")
    p.add_argument("--test-limit", type=int, default=-1,
                   help="at most this many test images (default: --limit)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    classes = FASHION if "fashion" in os.path.basename(os.path.normpath(args.data)) else \
        [str(k) for k in range(10)]
    rng = np.random.default_rng(args.seed)
    summary = {}
    for split, prefix in (("train", "train"), ("test", "t10k")):
        images = read_idx(find(args.data, f"{prefix}-images-idx3-ubyte"))
        labels = read_idx(find(args.data, f"{prefix}-labels-idx1-ubyte"))
        if split == "test" and args.test_limit >= 0:
            saved, args.limit = args.limit, args.test_limit
            summary[split] = write_split(images, labels, os.path.join(args.out, split), classes,
                                         rng, args)
            args.limit = saved
        else:
            summary[split] = write_split(images, labels, os.path.join(args.out, split), classes,
                                         rng, args)
    for split, (n, on_disk, decoded) in summary.items():
        print(f"{split}: {n} images, {on_disk / 1e6:.1f} MB on disk, {decoded / 1e9:.2f} GB decoded")


if __name__ == "__main__":
    main()
