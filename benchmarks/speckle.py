"""Coloured pixel speckle, measured: how often a pixel's colour jumps away from all its
neighbours, in generated covers against real ones.

    .venv/bin/python benchmarks/speckle.py models/unconditional-64.onnx other.onnx --data data/covers-train --n 500

For each image: chroma = RGB minus its grey level; a pixel is a speckle when its chroma
differs from the median chroma of its 3x3 neighbourhood by more than `--threshold` levels
(0-255, max over channels). Also reported: the share of pixels with a channel clipped at
0 or 255 (a saturated output layer flips single channels between the extremes, which is
what the speckle looks like). Real covers of the dataset at the model's resolution are the
reference: a generator should not have more of either than they do.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from albumgan.bot.engine import Engine
from albumgan.training.data.format import ShardedDataset


def speckle_share(images: np.ndarray, threshold: float) -> float:
    x = images.astype(np.float32)
    chroma = x - x.mean(axis=3, keepdims=True)
    padded = np.pad(chroma, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="edge")
    h, w = images.shape[1:3]
    windows = np.stack([padded[:, dy : dy + h, dx : dx + w] for dy in range(3) for dx in range(3)], axis=0)
    jump = np.abs(chroma - np.median(windows, axis=0)).max(axis=3)
    return float((jump > threshold).mean())


def clipped_share(images: np.ndarray) -> float:
    return float(((images == 0) | (images == 255)).any(axis=3).mean())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", type=Path, nargs="+", help="exported models")
    parser.add_argument("--data", type=Path, required=True, help="dataset of real covers (the reference)")
    parser.add_argument("--n", type=int, default=500, help="images per row")
    parser.add_argument("--threshold", type=float, default=60.0, help="chroma jump, levels")
    args = parser.parse_args(argv)
    rows = []
    for path in args.models:
        engine = Engine.load(path, device="cpu")
        info = engine.info
        z = info.latents(list(range(args.n)))
        if info.schema is None:
            images = engine.run(z)
        else:
            data = ShardedDataset(args.data, info.resolution)
            pick = np.random.default_rng(0).integers(0, len(data), args.n)
            images = engine.run(z, data.labels[pick].astype(np.float32), data.mask[pick].astype(np.float32))
        rows.append((f"{path.name} ({info.name} v{info.version})", info.resolution, images))
    for resolution in sorted({r for _, r, _ in rows}):
        data = ShardedDataset(args.data, resolution)
        pick = np.random.default_rng(1).choice(len(data), min(args.n, len(data)), replace=False)
        rows.insert(0, (f"real covers ({args.data}, {resolution} px)", resolution, data.batch(np.sort(pick))))
    print(f"n={args.n} per row, speckle = chroma jump > {args.threshold:g} levels from the 3x3 median")
    print(f"{'images':58s} {'speckle %':>9s} {'clipped %':>9s}")
    for name, _, images in rows:
        print(f"{name:58s} {100 * speckle_share(images, args.threshold):9.2f} {100 * clipped_share(images):9.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
