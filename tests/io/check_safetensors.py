"""Cross-check a convkit checkpoint with Python's `safetensors` (not run by CI).

Reads the file with safetensors.numpy.load_file and safe_open (metadata), checks every
convkit rule independently: tensor names and shapes against the model spec in the metadata,
optimizer buffers of P floats, and the integrity entry (SHA-256 over the compact, key-sorted
header without it, then the data bytes). With --sample it also checks the values written by
the C++ test CheckpointTest.SampleForThePythonCheck: parameter k holds (k + 1) + i / 8.

    CONVKIT_IO_SAMPLE_DIR=/tmp build/io/tests/test_io --gtest_filter='*SampleForThePythonCheck'
    .venv/bin/python tests/io/check_safetensors.py /tmp/sample.ckpt --sample
"""
import argparse
import hashlib
import json
import struct
import sys

import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file


def canonical(obj):
    # nlohmann::json::dump(): sorted keys, no spaces, UTF-8 passed through.
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint")
    parser.add_argument("--sample", action="store_true", help="check the sample's known values")
    args = parser.parse_args()

    tensors = load_file(args.checkpoint)
    with safe_open(args.checkpoint, framework="numpy") as f:
        meta = f.metadata()
    assert meta["convkit.format"] == "checkpoint", meta["convkit.format"]
    spec = json.loads(meta["model"])
    optimizer = json.loads(meta["optimizer"])
    print(f"{args.checkpoint}: {len(tensors)} tensors, convkit {meta['convkit.version']}, epoch {meta['epoch']}, "
          f"optimizer {optimizer['name'] or '(none)'}")

    params = [p["name"] for p in spec["params"]]
    assert sorted("param." + p for p in params) == sorted(k for k in tensors if k.startswith("param.")), "param names"
    for p in spec["params"]:
        t = tensors["param." + p["name"]]
        assert t.dtype == np.float32 and list(t.shape) == p["shape"], (p["name"], t.dtype, t.shape)
    for name in optimizer["state"]:
        assert tensors["optim." + name].ndim == 1, name

    with open(args.checkpoint, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    integrity = header["__metadata__"].pop("integrity")
    digest = hashlib.sha256(canonical(header).encode("utf-8") + raw[8 + n :]).hexdigest()
    assert integrity == "sha256:" + digest, "integrity mismatch"
    print("integrity: ok (" + integrity[:19] + "...)")

    if args.sample:
        for k, name in enumerate(params):
            t = tensors["param." + name]
            want = (k + 1 + np.arange(t.size, dtype=np.float32) / 8).reshape(t.shape)
            assert np.array_equal(t, want), name
            print(f"param.{name} {list(t.shape)}: values match, first {t.flat[0]}, last {t.flat[-1]}")
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
