#!/usr/bin/env bash
# How the checkpoint interop fixtures in this folder were made (once; they are kept as test data):
#   tiny_convkit.ckpt              convkit's writer (test_io's disabled WriteFixture test)
#   tiny_resaved_by_python.ckpt    the same file re-saved unchanged by Python's safetensors
#                                  (safe_open -> save_file with the same metadata)
#   tiny_legacy_integrity.ckpt     the same model written by convkit 6e3cc27, whose integrity
#                                  entry hashed the header bytes ("sha256:..."); made with
#                                  write_legacy.cpp against that commit's library
# Usage: tests/io/data/make_interop_files.sh BUILD_DIR PYTHON_WITH_SAFETENSORS
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
CONVKIT_INTEROP_OUT="$here" "$1/tests/test_io" --gtest_also_run_disabled_tests \
  --gtest_filter='CheckpointInterop.DISABLED_WriteFixture'
"$2" - "$here/tiny_convkit.ckpt" "$here/tiny_resaved_by_python.ckpt" <<'PY'
import sys
from safetensors import safe_open
from safetensors.numpy import save_file
with safe_open(sys.argv[1], framework="np") as f:
    metadata = f.metadata()
    tensors = {name: f.get_tensor(name) for name in f.keys()}
save_file(tensors, sys.argv[2], metadata=metadata)
PY
