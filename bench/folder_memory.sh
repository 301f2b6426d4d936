#!/usr/bin/env bash
# Peak memory of training from an image folder far larger than memory allows to decode whole:
# makes (once) a Fashion-MNIST JPEG tree of large images (300-500 px a side: about 5.8 GB decoded
# for 12,000 training images), trains ResNet-20 on it at 64 x 64 for one epoch, and prints the
# tree's decoded size and convkit's peak RSS (GNU time's "Maximum resident set size").
# Batch 64: the training plan's activations are most of the RSS (ResNet-20 at 64 px: about 0.5 GB
# at batch 64, 1 GB at 128, the same on a tree of small images), the images almost none.
#
#   bench/folder_memory.sh [--tree /tmp/fashion-big] [--data ../shared/data/fashion-mnist]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tree=/tmp/fashion-big
data="$root/../shared/data/fashion-mnist"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --tree) tree="$2"; shift 2 ;;
    --data) data="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
python="$root/.venv/bin/python"
[[ -x "$python" ]] || python=python3
if [[ ! -d "$tree/train" ]]; then
  "$python" "$root/bench/make_image_tree.py" --data "$data" --out "$tree" --min-size 300 \
    --max-size 500 --limit 12000 --test-limit 1000
fi
decoded=$("$python" - "$tree/train" <<'PY'
import os, sys
from PIL import Image
total = 0
for d, _, files in os.walk(sys.argv[1]):
    for f in files:
        with Image.open(os.path.join(d, f)) as im:
            total += im.width * im.height * len(im.getbands())
print(f"{total / 1e9:.2f}")
PY
)
cat > /tmp/folder_memory.yaml <<YAML
dataset: {name: folder, workers: 2, augment: {horizontal_flip: true}}
model: {zoo: resnet20, input: [3, 64, 64], classes: 10}
train: {epochs: 1, batch_size: 64, eval_batch_size: 64, tensorboard: false,
        optimizer: {type: sgd, lr: 0.1, momentum: 0.9}}
YAML
/usr/bin/time -v "$root/build/release/convkit" train --config /tmp/folder_memory.yaml \
  --data "$tree" --out /tmp/folder_memory_run --overwrite 2> /tmp/folder_memory.time | tail -2
rss_kb=$(grep "Maximum resident set size" /tmp/folder_memory.time | awk '{print $NF}')
wall=$(grep "Elapsed (wall clock)" /tmp/folder_memory.time | awk '{print $NF}')
echo "tree $tree/train: ${decoded} GB decoded; convkit train peak RSS $((rss_kb / 1024)) MB; wall $wall"
