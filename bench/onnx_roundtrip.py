#!/usr/bin/env python3
"""onnxruntime cross-check of convkit's ONNX export (io::export_onnx).

Runs the onnx_roundtrip program (bench/onnx_roundtrip.cpp), which writes <name>.onnx, a random
input <name>.input.bin and convkit's output <name>.output.bin per model, then for each model:
onnx.checker.check_model (full_check: with shape inference), an onnxruntime CPU session on the
input, and the max abs difference to convkit's output. Prints a table; exit status 1 when any
model fails (check error, session error or difference above --tol).

  .venv/bin/python bench/onnx_roundtrip.py --tool build/export/bench/onnx_roundtrip \
      --out /tmp/onnx_roundtrip
"""
import argparse
import pathlib
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort


def check(path: pathlib.Path, tol: float):
    """(opset, nodes, max |convkit output|, max abs diff or None, error message or "")."""
    model = onnx.load(str(path))
    expected = np.fromfile(path.with_suffix(".output.bin"), dtype="<f4")
    scale = float(np.max(np.abs(expected))) if expected.size else 0.0
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    try:
        onnx.checker.check_model(model, full_check=True)
    except Exception as e:  # noqa: BLE001 - report any checker failure
        return opset, len(model.graph.node), scale, None, f"checker: {e}"
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    inp = session.get_inputs()[0]
    sample = [d for d in inp.shape[1:]]
    x = np.fromfile(path.with_suffix(".input.bin"), dtype="<f4")
    x = x.reshape([-1] + sample)
    try:
        (y,) = session.run(None, {inp.name: x})
    except Exception as e:  # noqa: BLE001
        return opset, len(model.graph.node), scale, None, f"onnxruntime: {e}"
    if y.size != expected.size:
        error = f"{y.size} outputs, convkit has {expected.size}"
        return opset, len(model.graph.node), scale, None, error
    diff = float(np.max(np.abs(y.reshape(-1) - expected))) if y.size else 0.0
    return opset, len(model.graph.node), scale, diff, ""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="/tmp/onnx_roundtrip", help="folder of the exports")
    ap.add_argument("--tool", help="the onnx_roundtrip program: run it first to fill --out")
    ap.add_argument("--examples", default="examples")
    ap.add_argument("--models", default="../shared/models")
    ap.add_argument("--tol", type=float, default=1e-4)
    args = ap.parse_args()
    out = pathlib.Path(args.out)
    if args.tool:
        subprocess.run([args.tool, "--out", str(out), "--examples", args.examples,
                        "--models", args.models], check=True)
    files = sorted(out.glob("*.onnx"))
    if not files:
        print(f"no .onnx files in {out}", file=sys.stderr)
        return 1
    print(f"onnxruntime {ort.__version__}, onnx {onnx.__version__}, tolerance {args.tol:g}")
    width = max(len(f.stem) for f in files)
    print(f"{'model':<{width}}  opset  nodes   max |y|  max abs diff  pass")
    failed = 0
    for f in files:
        opset, nodes, scale, diff, error = check(f, args.tol)
        ok = diff is not None and diff <= args.tol
        failed += not ok
        shown = f"{diff:12.2e}" if diff is not None else f"{'-':>12}"
        verdict = "yes" if ok else "NO"
        print(f"{f.stem:<{width}}  {opset:5d}  {nodes:5d}  {scale:8.3g}  {shown}  {verdict}"
              + (f"  {error}" if error else ""))
    print(f"{len(files) - failed}/{len(files)} pass")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
