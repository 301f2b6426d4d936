#!/usr/bin/env bash
# Feature caching: head-only epochs on a frozen backbone, with the cache (the base runs in the
# first epoch only) against without (the base runs every epoch), on the same data and threads,
# run one after the other, twice. Prints each run's epoch times and the ratio of the medians of
# epochs 2..N (what the cache saves once it is full).
#   bench/feature_cache.sh --data ../shared/data/fashion-mnist [--epochs 5] [--config FILE]
set -euo pipefail
cd "$(dirname "$0")/.."
data=../shared/data/fashion-mnist
epochs=5
config=examples/transfer_fashion.yaml
reps=2
while (($#)); do
  case $1 in
    --data) data=$2; shift 2 ;;
    --epochs) epochs=$2; shift 2 ;;
    --config) config=$2; shift 2 ;;
    --reps) reps=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for rep in $(seq 1 "$reps"); do
  for cache in true false; do
    build/release/convkit train -q --config "$config" --data "$data" --epochs "$epochs" \
      --set dataset.test_samples=100 --set model.backbone.cache_features=$cache \
      --out "$out/$cache$rep" > "$out/$cache$rep.log" 2>&1
  done
done
python3 - "$out" "$reps" <<'PY'
import json, statistics, sys
out, reps = sys.argv[1], int(sys.argv[2])
ratios = []
for rep in range(1, reps + 1):
    med = {}
    for cache in ("true", "false"):
        s = json.load(open(f"{out}/{cache}{rep}/metrics.json"))["epoch_seconds"]
        med[cache] = statistics.median(s[1:])
        print(f"rep {rep} cache={cache:5}: epoch 1 {s[0]:.2f} s, epochs 2..{len(s)} median {med[cache]:.4f} s "
              f"({' '.join(f'{x:.3f}' for x in s)})")
    ratios.append(med["false"] / med["true"])
    print(f"rep {rep}: head epochs {ratios[-1]:.0f}x faster with the cache")
print(f"median ratio {statistics.median(ratios):.0f}x")
PY
