"""convkit vs PyTorch on CPU: training and inference speed of the same models, interleaved.

For each model x case (train batch 128, infer batch 1 and 256) x thread count, runs
convkit_throughput and torch_throughput.py one after the other, R times (alternating which goes
first, so a busy machine's drift hits both alike), then reports per case the median images/s of
each, the ratio convkit/PyTorch, convkit's GFLOP/s and its fraction of the fp32 peak
(cpu_peak.py), step-time medians (batch 1: the latency) and peak RSS. Writes every run and the
summary to bench/results/compare-<date>.json and prints a markdown table.

    python bench/compare.py --convkit build/release/bench/convkit_throughput [--reps 3]

--baseline BINARY adds a third contestant, convkit_throughput built from another commit (e.g.
before a refactor), interleaved with the other two in the same repetitions: each row then also
gives the baseline's ratio to PyTorch and after/before per repetition, so a change in speed can be
told from the run-to-run spread.

images/s is batch / median step time of a run (robust to stalls on a shared machine); the mean
rate (batch * steps / time) is kept in the JSON as images_per_second.
"""

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

import cpu_peak

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
MODELS = ["mnist_cnn", "lenet5", "mnist_default", "resnet_small"]
CASES = [("train", 128), ("infer", 1), ("infer", 256)]


def run_json(cmd: list, threads: int) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    load = os.getloadavg()[0]  # how busy the machine was (others' builds), kept with the run
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, timeout=900)
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {' '.join(map(str, cmd))}\n{proc.stderr}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]), loadavg_1min=load)


def commands(args, model: str, mode: str, batch: int, threads: int) -> dict:
    # Batch 1 steps take well under a millisecond: warm up longer so caches and the thread pool settle.
    warmup = args.warmup * (20 if batch == 1 else 1)
    common = ["--mode", mode, "--batch", str(batch), "--threads", str(threads), "--warmup", str(warmup),
              "--seconds", str(args.seconds)] + (["--breakdown"] if args.breakdown and mode == "train" else [])
    return {
        "convkit": [args.convkit, "--config", f"examples/{model}.yaml"] + common,
        "pytorch": [sys.executable, str(BENCH / "torch_throughput.py"), "--model", model] + common,
        "baseline": [args.baseline, "--config", f"examples/{model}.yaml"] + common if args.baseline else None,
    }


def summarize(model, mode, batch, threads, runs: dict, peak: dict) -> dict:
    med = lambda fw, key: statistics.median(r[key] for r in runs[fw])
    best = lambda fw: max(r["images_per_second_at_median"] for r in runs[fw])
    ck_ips, pt_ips = med("convkit", "images_per_second_at_median"), med("pytorch", "images_per_second_at_median")
    flops = runs["convkit"][0]["flops_per_sample"] * (3 if mode == "train" else 1)
    paired = [c["images_per_second_at_median"] / p["images_per_second_at_median"]
              for c, p in zip(runs["convkit"], runs["pytorch"])]
    row = {
        "model": model, "mode": mode, "batch": batch, "threads": threads,
        "convkit_images_per_second": ck_ips, "pytorch_images_per_second": pt_ips,
        "ratio": ck_ips / pt_ips, "ratio_per_rep": paired,
        # The fastest repetition of each: on a shared machine, the run least slowed by others.
        "convkit_best_images_per_second": best("convkit"), "pytorch_best_images_per_second": best("pytorch"),
        "ratio_best": best("convkit") / best("pytorch"),
        "convkit_gflops_per_second": flops * ck_ips * 1e-9,
        "convkit_fraction_of_peak": flops * ck_ips * 1e-9 / peak["gflops_peak"],
        "pytorch_gflops_per_second": flops * pt_ips * 1e-9,
        "convkit_step_ms_median": med("convkit", "step_ms_median"),
        "pytorch_step_ms_median": med("pytorch", "step_ms_median"),
        "convkit_step_ms_p90": med("convkit", "step_ms_p90"),
        "pytorch_step_ms_p90": med("pytorch", "step_ms_p90"),
        "convkit_peak_rss_mb": med("convkit", "peak_rss_mb"),
        "pytorch_peak_rss_mb": med("pytorch", "peak_rss_mb"),
    }
    if runs.get("baseline"):
        base = med("baseline", "images_per_second_at_median")
        row.update({
            "baseline_images_per_second": base, "baseline_ratio": base / pt_ips,
            "baseline_ratio_per_rep": [b["images_per_second_at_median"] / p["images_per_second_at_median"]
                                       for b, p in zip(runs["baseline"], runs["pytorch"])],
            "after_over_before": ck_ips / base,
            "after_over_before_per_rep": [c["images_per_second_at_median"] / b["images_per_second_at_median"]
                                          for c, b in zip(runs["convkit"], runs["baseline"])],
        })
    for fw in ("convkit", "pytorch"):
        if "breakdown" in runs[fw][0]:
            row[f"{fw}_breakdown_ms"] = {k: statistics.median(r["breakdown"][k] for r in runs[fw])
                                         for k in runs[fw][0]["breakdown"]}
    return row


def markdown(rows: list, peak: dict) -> str:
    out = ["| model | mode | batch | thr | convkit img/s | PyTorch img/s | convkit/PyTorch | best-of-R ratio "
           "| convkit GFLOP/s | % of peak | step ms convkit / PyTorch | peak RSS MB convkit / PyTorch |",
           "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        out.append(f"| {r['model']} | {r['mode']} | {r['batch']} | {r['threads']} "
                   f"| {r['convkit_images_per_second']:,.0f} | {r['pytorch_images_per_second']:,.0f} "
                   f"| **{r['ratio']:.2f}x** | {r['ratio_best']:.2f}x | {r['convkit_gflops_per_second']:.1f} "
                   f"| {100 * r['convkit_fraction_of_peak']:.1f}% "
                   f"| {r['convkit_step_ms_median']:.3g} / {r['pytorch_step_ms_median']:.3g} "
                   f"| {r['convkit_peak_rss_mb']:.0f} / {r['pytorch_peak_rss_mb']:.0f} |")
    out.append(f"\nPeak: {peak['derivation']}. images/s = batch / median step time, median over the "
               "repetitions; best-of-R: the fastest repetition of each; ratio > 1: convkit faster; "
               "GFLOP/s counts a training step as 3x the forward FLOPs (convkit's count: conv, dense, BN, "
               "activations, pooling, also where fused away) as direct convolution: where convkit runs a 3x3 "
               "convolution as Winograd (about 2.25x fewer multiplications) this is an effective rate, and can "
               "exceed what the FMA units do. Batch-1 step ms is the inference latency.")
    based = [r for r in rows if "baseline_images_per_second" in r]
    if based:
        spread = lambda xs: f"{min(xs):.2f}-{max(xs):.2f}"
        out += ["\n| model | mode | batch | thr | baseline/PyTorch (per rep) | convkit/PyTorch (per rep) "
                "| after/before (per rep) |", "| --- | --- | ---: | ---: | ---: | ---: | ---: |"]
        for r in based:
            out.append(f"| {r['model']} | {r['mode']} | {r['batch']} | {r['threads']} "
                       f"| {r['baseline_ratio']:.2f}x ({spread(r['baseline_ratio_per_rep'])}) "
                       f"| {r['ratio']:.2f}x ({spread(r['ratio_per_rep'])}) "
                       f"| {r['after_over_before']:.3f} ({spread(r['after_over_before_per_rep'])}) |")
    breakdowns = [r for r in rows if "convkit_breakdown_ms" in r]
    if breakdowns:
        out += ["\n| model | forward ms convkit / PyTorch | backward ms | update ms |", "| --- | ---: | ---: | ---: |"]
        for r in breakdowns:
            c, p = r["convkit_breakdown_ms"], r["pytorch_breakdown_ms"]
            out.append(f"| {r['model']} | {c['forward_ms']:.1f} / {p['forward_ms']:.1f} "
                       f"| {c['backward_ms']:.1f} / {p['backward_ms']:.1f} | {c['update_ms']:.2f} / {p['update_ms']:.2f} |")
    return "\n".join(out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--convkit", default=str(ROOT / "build/release/bench/convkit_throughput"))
    p.add_argument("--baseline", help="a second convkit_throughput (another commit), interleaved with the others")
    p.add_argument("--models", nargs="+", default=MODELS, choices=MODELS)
    p.add_argument("--cases", nargs="+", default=[f"{m}:{b}" for m, b in CASES],
                   help="mode:batch, e.g. train:128 infer:1 infer:256")
    p.add_argument("--threads", nargs="+", type=int, default=[2])
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--seconds", type=float, default=4, help="timed seconds per run")
    p.add_argument("--warmup", type=int, default=5, help="warm-up steps (x20 at batch 1)")
    p.add_argument("--breakdown", action="store_true", help="train: time forward/backward/update apart")
    p.add_argument("--out", default=str(BENCH / "results"))
    args = p.parse_args()
    cases = [(c.split(":")[0], int(c.split(":")[1])) for c in args.cases]

    fma_peak = str(Path(args.convkit).parent / "fma_peak")
    # One FMA-loop measurement per thread count, shared by the rows and the footnote (two
    # measurements of the same count could disagree on a busy machine).
    peaks = {t: cpu_peak.measured_peak(t, fma_peak) for t in sorted(set(args.threads))}
    peak = peaks[max(args.threads)]
    rows, raw = [], []
    for threads in args.threads:
        peak_t = peaks[threads]
        for model in args.models:
            for mode, batch in cases:
                cmds = commands(args, model, mode, batch, threads)
                contestants = ["convkit", "pytorch"] + (["baseline"] if args.baseline else [])
                runs = {fw: [] for fw in contestants}
                for rep in range(args.reps):
                    # Each repetition starts with another contestant, so drift hits all alike.
                    k = rep % len(contestants)
                    for fw in contestants[k:] + contestants[:k]:
                        r = run_json(cmds[fw], threads)
                        runs[fw].append(r)
                        raw.append(dict(r, rep=rep, contestant=fw))
                    if runs["convkit"][-1]["parameters"] != runs["pytorch"][-1]["parameters"]:
                        sys.exit(f"{model}: parameter counts differ: {runs['convkit'][-1]['parameters']} vs "
                                 f"{runs['pytorch'][-1]['parameters']}")
                row = summarize(model, mode, batch, threads, runs, peak_t)
                rows.append(row)
                print(f"{model} {mode} b{batch} t{threads}: convkit {row['convkit_images_per_second']:,.0f} img/s, "
                      f"PyTorch {row['pytorch_images_per_second']:,.0f} img/s, ratio {row['ratio']:.2f}"
                      + (f", baseline ratio {row['baseline_ratio']:.2f}, after/before {row['after_over_before']:.3f}"
                         if args.baseline else ""), flush=True)

    table = markdown(rows, peak)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = Path(args.out) / f"compare-{stamp}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "date": stamp, "peak": peak, "settings": vars(args), "python": sys.version.split()[0],
        "torch_version": next((r["torch_version"] for r in raw if "torch_version" in r), None),
        "summary": rows, "runs": raw, "markdown": table}, indent=2) + "\n")
    print("\n" + table + f"\n\nJSON: {out}")


if __name__ == "__main__":
    main()
