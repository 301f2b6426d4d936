#!/usr/bin/env bash
# The include-direction check must catch an upward include: copy src/ and include/ to a temporary
# tree, plant `#include "graph/plan.h"` into a tensor/ file (tensor sits above graph in the layer
# table) and a oneDNN include into a public header, and expect scripts/check_includes to fail
# naming both (whether the real tree is clean is layering.include_direction's business).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cp -r "$root/src" "$root/include" "$tmp/"
if "$root/scripts/check_includes" --root "$tmp" | grep -q 'tensor/shape'; then
  echo "the unplanted tree should have no tensor/shape problem"; exit 1
fi
echo '#include "graph/plan.h"' >> "$tmp/src/tensor/shape.cpp"
echo '#include <dnnl.hpp>' >> "$tmp/include/convkit/tensor/shape.h"
set +e
output="$("$root/scripts/check_includes" --root "$tmp")"
code=$?
set -e
echo "$output"
[[ $code -eq 1 ]] || { echo "expected exit 1, got $code"; exit 1; }
grep -q 'src/tensor/shape.cpp:[0-9]*: tensor/ includes graph/plan.h' <<<"$output" || { echo "planted upward include not reported"; exit 1; }
grep -q 'include/convkit/tensor/shape.h:[0-9]*: public header includes <dnnl.hpp>' <<<"$output" || { echo "planted public include not reported"; exit 1; }
echo "planted includes caught"
