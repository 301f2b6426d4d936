#!/usr/bin/env python3
"""Loader speed: convkit's Loader against torchvision's ImageFolder + DataLoader on the same image
folder, doing the same work: decode, resize to SIZE x SIZE (bilinear), random horizontal flip and
a random crop with 4 px padding, normalize into float batches of 128, with the same number of
worker processes/threads. Interleaved run by run (each repetition alternates which goes first),
median images/s of each and their ratio, at each --sizes entry.

  bench/loader_speed.py --folder /tmp/fashion-jpeg/train --sizes 64 224 --limit 20000

Make the folder with bench/make_image_tree.py. Needs torch, torchvision and Pillow
(bench/run_bench.sh's .venv: .venv/bin/python bench/loader_speed.py ...).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def torchvision_run(folder, size, workers, limit, batch):
    code = f"""
import json, time, torch, torchvision
from torchvision import transforms as T
torch.set_num_threads(1)
tf = T.Compose([T.Resize(({size}, {size})), T.RandomHorizontalFlip(), T.RandomCrop({size}, padding=4),
                T.ToTensor(), T.Normalize([0.5] * 3, [0.25] * 3)])
t0 = time.time()
ds = torchvision.datasets.ImageFolder({folder!r}, transform=tf)
n = len(ds)
if {limit} > 0 and {limit} < n:
    ds = torch.utils.data.Subset(ds, [i * n // {limit} for i in range({limit})])
scan = time.time() - t0
dl = torch.utils.data.DataLoader(ds, batch_size={batch}, shuffle=True, num_workers={workers},
                                 persistent_workers=False)
start = time.time()
images = 0
for x, y in dl:
    images += x.shape[0]
seconds = time.time() - start
print(json.dumps({{"images": images, "seconds": seconds, "images_per_second": images / seconds,
                  "scan_seconds": scan}}))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def convkit_run(binary, folder, size, workers, limit, batch):
    cmd = [binary, "--folder", folder, "--size", str(size), "--workers", str(workers),
           "--batch", str(batch), "--limit", str(limit)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--folder", required=True, help="root/<class>/*.jpg")
    p.add_argument("--sizes", type=int, nargs="+", default=[64, 224])
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--limit", type=int, default=20000, help="images per run (0: all)")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--convkit", default=os.path.join(ROOT, "build/release/bench/loader_speed"))
    args = p.parse_args()
    results = {"folder": args.folder, "workers": args.workers, "limit": args.limit,
               "cpus": os.cpu_count(), "runs": []}
    rows = []
    for size in args.sizes:
        figures = {"convkit": [], "torchvision": []}
        for rep in range(args.reps):
            order = ["convkit", "torchvision"] if rep % 2 == 0 else ["torchvision", "convkit"]
            for who in order:
                if who == "convkit":
                    r = convkit_run(args.convkit, args.folder, size, args.workers, args.limit,
                                    args.batch)
                else:
                    r = torchvision_run(args.folder, size, args.workers, args.limit, args.batch)
                figures[who].append(r["images_per_second"])
                results["runs"].append({"size": size, "rep": rep, "who": who, **r})
                print(f"size {size} rep {rep + 1} {who:12s} {r['images_per_second']:8.0f} img/s "
                      f"(scan {r['scan_seconds']:.2f} s)", flush=True)
        ck, tv = statistics.median(figures["convkit"]), statistics.median(figures["torchvision"])
        ratios = [a / b for a, b in zip(figures["convkit"], figures["torchvision"])]
        rows.append((size, ck, tv, ck / tv, min(ratios), max(ratios)))
    print(f"\n{args.folder}, {args.limit or 'all'} images per run, {args.workers} workers, "
          f"{os.cpu_count()} CPUs, median of {args.reps}:\n")
    print("| size | convkit img/s | torchvision img/s | convkit / torchvision (per-rep range) |")
    print("|---|---|---|---|")
    for size, ck, tv, ratio, lo, hi in rows:
        print(f"| {size} | {ck:.0f} | {tv:.0f} | {ratio:.2f}x ({lo:.2f}-{hi:.2f}) |")
    os.makedirs(os.path.join(ROOT, "bench/results"), exist_ok=True)
    path = os.path.join(ROOT, "bench/results", time.strftime("loader_speed-%Y%m%d-%H%M%S.json"))
    with open(path, "w") as f:
        json.dump(results, f, indent=1)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
