#!/usr/bin/env bash
# The convkit-vs-PyTorch benchmark in one command: sets up .venv with PyTorch (PyPI) if needed,
# builds the release preset, then runs bench/compare.py (throughput of the example models) and
# bench/time_to_accuracy.py (MNIST, convkit vs PyTorch's fast recipe). Results go to
# bench/results/*.json; the markdown tables are printed.
#
#   bench/run_bench.sh [--data DIR] [--reps 3] [--seconds 4] [--seeds "0 1 2 3 4"]
#                      [--build-dir DIR] [--breakdown] [--skip-compare] [--skip-tta]
#
# --data: the MNIST IDX files (default ../shared/data/mnist). --build-dir: build there (Release)
# instead of the `release` preset's build/release. --breakdown: forward/backward/update times of
# each training step too. JOBS=N limits the build's parallel jobs.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

data="../shared/data/mnist"
reps=3
seconds=4
seeds="0 1 2 3 4"
build_dir=""
compare=1
tta=1
breakdown=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --data) data="$2"; shift 2 ;;
    --reps) reps="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --seeds) seeds="$2"; shift 2 ;;
    --build-dir) build_dir="$2"; shift 2 ;;
    --breakdown) breakdown=(--breakdown); shift ;;
    --skip-compare) compare=0; shift ;;
    --skip-tta) tta=0; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "run_bench.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

# Python with PyTorch (CPU use only; plain `pip install torch` from PyPI) and numpy.
if [[ ! -x .venv/bin/python ]]; then
  python3 -m venv .venv
fi
if ! .venv/bin/python -c "import torch" 2>/dev/null; then
  .venv/bin/pip install torch
fi
if ! .venv/bin/python -c "import numpy" 2>/dev/null; then
  .venv/bin/pip install numpy
fi

# The release build of the CLI and the throughput tool.
jobs=(-j "${JOBS:-$(nproc)}")
targets=(--target convkit_cli convkit_throughput)
if [[ -z "$build_dir" ]]; then
  cmake --preset release >/dev/null
  cmake --build --preset release "${targets[@]}" "${jobs[@]}"
  build_dir="build/release"
else
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$build_dir" "${targets[@]}" "${jobs[@]}"
fi

echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
if [[ $compare == 1 ]]; then
  .venv/bin/python bench/compare.py --convkit "$build_dir/bench/convkit_throughput" --reps "$reps" --seconds "$seconds" \
    "${breakdown[@]}"
fi
if [[ $tta == 1 ]]; then
  # shellcheck disable=SC2086  # seeds is a list
  .venv/bin/python bench/time_to_accuracy.py --convkit "$build_dir/convkit" --data "$data" --seeds $seeds
fi
