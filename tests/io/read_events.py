#!/usr/bin/env python3
"""Reads convkit's TensorBoard event files with TensorBoard's own EventAccumulator (not run by CI).

An independent check that `events.out.tfevents.*` files written by io::EventWriter are what
TensorBoard expects: framing and CRCs, Event/Summary protobufs, scalars, histograms and PNG
images. Prints what it read; with --expect-epochs N also checks that every scalar has N points,
that histogram bucket counts add up to `num`, and that images decode with the stated size.

  .venv/bin/pip install tensorboard        # once
  .venv/bin/python tests/io/read_events.py RUN_DIR [--expect-epochs N]
"""
import argparse
import io
import struct
import sys

from tensorboard.backend.event_processing import event_accumulator
from tensorboard.backend.event_processing import plugin_event_accumulator


def png_size(data: bytes):
    """(width, height) from a PNG's IHDR chunk."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    return struct.unpack(">II", data[16:24])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir")
    parser.add_argument("--expect-epochs", type=int, default=0)
    args = parser.parse_args()
    problems = []

    acc = event_accumulator.EventAccumulator(
        args.run_dir, size_guidance={event_accumulator.SCALARS: 0, event_accumulator.HISTOGRAMS: 0,
                                     event_accumulator.IMAGES: 0})
    acc.Reload()
    tags = acc.Tags()
    print(f"file_version: {acc.file_version}")
    print(f"scalars: {len(tags['scalars'])}, histograms: {len(tags['histograms'])}, images: {len(tags['images'])}")
    for tag in tags["scalars"]:
        events = acc.Scalars(tag)
        print(f"  scalar {tag}: " + ", ".join(f"step {e.step} = {e.value:.6g}" for e in events))
        if args.expect_epochs and [e.step for e in events] != list(range(1, args.expect_epochs + 1)):
            problems.append(f"scalar {tag}: steps {[e.step for e in events]}")
    for tag in tags["histograms"]:
        events = acc.Histograms(tag)
        last = events[-1].histogram_value
        print(f"  histogram {tag}: {len(events)} steps; last: num {last.num:g}, min {last.min:.4g}, "
              f"max {last.max:.4g}, mean {last.sum / max(last.num, 1):.4g}, {len(last.bucket)} buckets")
        for e in events:
            h = e.histogram_value
            if abs(sum(h.bucket) - h.num) > 0.5 or len(h.bucket) != len(h.bucket_limit):
                problems.append(f"histogram {tag} step {e.step}: bucket counts {sum(h.bucket)} vs num {h.num}")
        if args.expect_epochs and len(events) != args.expect_epochs:
            problems.append(f"histogram {tag}: {len(events)} steps")
    for tag in tags["images"]:
        for e in acc.Images(tag):
            width, height = png_size(e.encoded_image_string)
            print(f"  image {tag} step {e.step}: {e.width}x{e.height}, PNG {len(e.encoded_image_string)} bytes")
            if (width, height) != (e.width, e.height):
                problems.append(f"image {tag} step {e.step}: PNG is {width}x{height}, summary says {e.width}x{e.height}")
            try:
                from PIL import Image  # tensorboard depends on pillow? not always: optional
                Image.open(io.BytesIO(e.encoded_image_string)).load()
            except ImportError:
                pass

    # The plugin accumulator migrates legacy summaries to tensors, as `tensorboard --logdir` does.
    plugins = plugin_event_accumulator.EventAccumulator(args.run_dir, size_guidance={"tensors": 0})
    plugins.Reload()
    mapping = plugins.PluginTagToContent
    print("plugins:", {name: len(plugins.PluginTagToContent(name)) for name in ("scalars", "histograms", "images")})
    for name in ("scalars", "histograms", "images"):
        if name == "images" and not tags["images"]:
            continue
        if not mapping(name):
            problems.append(f"TensorBoard's {name} plugin sees no tags")

    for p in problems:
        print("PROBLEM:", p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
