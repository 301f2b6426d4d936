"""Busy neighbour: convkit's training speed when it shares the CPUs, measured with the real CLI.

For each contestant (convkit's default, which shares the CPUs: train/thread_share.h; and convkit
with a fixed team of all CPUs, train.threads = N, which is what it did before), runs the same
`convkit train` (one epoch of MNIST by default) in three situations, interleaved, R times:

  quiet   alone on the machine
  busy    beside one busy process (a single-threaded spin loop started just before)
  pair    beside a second, identical convkit training started at the same moment

and reports images/s of training (the run's metrics.json: training images / training seconds).
Each repetition also runs the default alone with one thread ("quiet, 1 thread"): the ceiling
beside one busy process, where a fair scheduler leaves it one CPU of the machine's.
For the pair, "together" is both runs' images over the longer of their training times (the tail
where one runs alone is counted against them). Targets (issue 14): busy >= 50% of quiet,
together >= 80% of one quiet run. Writes every run to bench/results/busy_neighbour-<date>.json.

    python3 bench/busy_neighbour.py --convkit build/release/convkit --data ../shared/data \\
        [--config examples/mnist_cnn.yaml] [--reps 2] [--fixed] [--timeout 240]

A run that passes --timeout is stopped; its rate is then the last progress line's (shown with <).
Run it on an otherwise quiet machine: a third process changes every figure.
"""

import argparse
import datetime
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROGRESS = re.compile(r"(\d+)/(\d+) \(\d+%\).*?(\d+) img/s")


def start_training(args, threads, out_dir):
    cmd = [args.convkit, "train", "--config", args.config, "--data", args.data,
           "--epochs", str(args.epochs), "--out", str(out_dir), "--overwrite",
           "--set", f"train.threads={threads}", "--set", "train.tensorboard=false"]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def finish_training(proc, out_dir, timeout):
    """images/s and seconds of training, or the last progress rate on a timeout."""
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        output, _ = proc.communicate()
        rates = [int(m.group(3)) for m in PROGRESS.finditer(output)]
        return {"images_per_second": rates[-1] if rates else 0.0, "timed_out": True,
                "notes": thread_notes(output)}
    if proc.returncode != 0:
        sys.exit(f"convkit train failed ({proc.returncode}):\n{output[-2000:]}")
    metrics = json.loads((Path(out_dir) / "metrics.json").read_text())
    return {"images_per_second": metrics["images_per_second"],
            "train_seconds": metrics["train_seconds"],
            "images": metrics["images_per_second"] * metrics["train_seconds"],
            "timed_out": False, "notes": thread_notes(output)}


def thread_notes(output):
    return [line for line in output.splitlines() if line.startswith("threads ")]


def spinner():
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


def run_situation(args, threads, situation, work):
    a, b = work / "a", work / "b"
    if situation == "quiet":
        return {"a": finish_training(start_training(args, threads, a), a, args.timeout)}
    if situation == "busy":
        spin = spinner()
        time.sleep(0.5)
        try:
            return {"a": finish_training(start_training(args, threads, a), a, args.timeout)}
        finally:
            spin.kill()
            spin.wait()
    pa = start_training(args, threads, a)
    pb = start_training(args, threads, b)
    ra = finish_training(pa, a, args.timeout)
    rb = finish_training(pb, b, args.timeout)
    result = {"a": ra, "b": rb}
    if not ra["timed_out"] and not rb["timed_out"]:
        result["together"] = (ra["images"] + rb["images"]) / max(ra["train_seconds"],
                                                                rb["train_seconds"])
    else:
        result["together"] = ra["images_per_second"] + rb["images_per_second"]
        result["together_timed_out"] = True
    return result


def rate(result):
    return result.get("together", result["a"]["images_per_second"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--convkit", default="build/release/convkit")
    parser.add_argument("--config", default="examples/mnist_cnn.yaml")
    parser.add_argument("--data", required=True)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--fixed", action="store_true",
                        help="also run convkit with a fixed team of all CPUs (train.threads=N)")
    parser.add_argument("--timeout", type=float, default=240)
    args = parser.parse_args()

    cpus = len(os.sched_getaffinity(0))
    contestants = [("shared (default)", 0)] + ([(f"fixed {cpus} threads", cpus)] if args.fixed
                                               else [])
    situations = ["quiet", "busy", "pair"]
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for rep in range(args.reps):
            plan = [(name, threads, s) for name, threads in contestants for s in situations]
            plan.insert(1, ("shared (default)", 1, "quiet, 1 thread"))
            for name, threads, situation in plan:
                result = run_situation(args, threads, situation.split(",")[0], Path(tmp))
                runs.append({"rep": rep, "contestant": name, "situation": situation, **result})
                notes = result["a"]["notes"]
                print(f"rep {rep + 1}  {name:<18} {situation:<15} {rate(result):8.0f} img/s"
                      f"{'  (timed out)' if result['a']['timed_out'] else ''}"
                      f"{'  ' + str(len(notes)) + ' thread notes' if notes else ''}",
                      flush=True)

    ceiling = statistics.median(rate(r) for r in runs if r["situation"] == "quiet, 1 thread")
    summary = {}
    print(f"\n{args.config}, {args.epochs} epoch(s), {cpus} CPUs, median of {args.reps}:\n")
    print("| contestant | quiet img/s | beside a busy process | beside a second training "
          "(together) | busy / quiet | together / quiet |")
    print("|---|---|---|---|---|---|")
    for name, _ in contestants:
        med = {s: statistics.median(rate(r) for r in runs
                                    if r["contestant"] == name and r["situation"] == s)
               for s in situations}
        timed_out = any(r["a"]["timed_out"] for r in runs if r["contestant"] == name)
        busy, together = med["busy"] / med["quiet"], med["pair"] / med["quiet"]
        summary[name] = {**med, "busy_over_quiet": busy, "together_over_quiet": together}
        mark = "<" if timed_out else ""
        print(f"| {name} | {med['quiet']:.0f} | {mark}{med['busy']:.0f} | {mark}{med['pair']:.0f} "
              f"| {busy:.0%} | {together:.0%} |")
    shared = summary["shared (default)"]
    summary["one_thread_quiet"] = ceiling
    print(f"\none thread alone: {ceiling:.0f} img/s = {ceiling / shared['quiet']:.1%} of the default's "
          f"quiet figure (the ceiling beside one busy process on {cpus} CPUs); beside one busy "
          f"process the default reaches {shared['busy'] / ceiling:.1%} of it")
    print(f"targets: busy/quiet >= 50%: {shared['busy_over_quiet']:.1%} "
          f"{'ok' if shared['busy_over_quiet'] >= 0.5 else 'SHORT'}; "
          f"together/quiet >= 80%: {shared['together_over_quiet']:.1%} "
          f"{'ok' if shared['together_over_quiet'] >= 0.8 else 'SHORT'}")

    out = Path(__file__).parent / "results" / (
        "busy_neighbour-" + datetime.datetime.now().strftime("%Y%m%d-%H%M%S") + ".json")
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"config": args.config, "epochs": args.epochs, "cpus": cpus,
                               "runs": runs, "summary": summary}, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
