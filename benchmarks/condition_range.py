"""Songs outside what the ACGAN learned: covers for conditions drawn across each feature's
whole range, fed to the model as they are and moved into its trained ranges first (what the
bot does), against covers for the training rows' own conditions.

    .venv/bin/python benchmarks/condition_range.py models/acgan-64.onnx --data data/covers-train --n 1000

Conditions: every feature drawn uniformly over its schema range (popularity 0-100, tempo
40-220 BPM, ...), all present: a stress test wider than most catalogues, not a model of one.
The same n latents serve every set. For each set it prints KID against the dataset's covers
(TF-Inception pool3, as `albumgan-eval`) and benchmarks/speckle.py's speckle and clipped-pixel
shares. The trained ranges are the model's own, or --data's for a model exported before they
were recorded.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
from speckle import clipped_share, speckle_share

from albumgan.bot.engine import Engine
from albumgan.training.data.format import ShardedDataset
from albumgan.training.metrics.inception import InceptionFeatures
from albumgan.training.metrics.kid import kid

BATCH = 100


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", type=Path, help="an exported conditional (acgan) model")
    parser.add_argument("--data", type=Path, required=True, help="the model's training dataset (the reference)")
    parser.add_argument("--n", type=int, default=1000, help="covers per set")
    parser.add_argument("--threshold", type=float, default=60.0, help="speckle: chroma jump, levels")
    args = parser.parse_args(argv)
    engine = Engine.load(args.model, device="cpu")
    info = engine.info
    if info.schema is None:
        parser.error(f"{args.model} is unconditional: it takes no features")
    data = ShardedDataset(args.data, info.resolution)
    ranges = info.trained_ranges if info.trained_ranges.bounds else data.label_ranges()
    rng = np.random.default_rng(0)
    wide = [{spec.name: rng.uniform(spec.low, spec.high) for spec in info.schema.features} for _ in range(args.n)]
    pick = rng.integers(0, len(data), args.n)
    conditions = {
        "training rows' conditions": (data.labels[pick], data.mask[pick]),
        "whole-range conditions, as they are": info.schema.encode_rows(wide),
        "whole-range conditions, fitted": info.schema.encode_rows([ranges.fit(row)[0] for row in wide]),
    }
    z = info.latents(list(range(args.n)))
    features = InceptionFeatures(threads=1)

    def inception(images: np.ndarray) -> np.ndarray:  # in batches: one pass over 1,000 needs > 20 GB
        return features.extract((images[i : i + BATCH] for i in range(0, len(images), BATCH)), len(images))

    real = inception(data.batch(np.arange(len(data))))
    where = "model metadata" if info.trained_ranges.bounds else f"{args.data}"
    print(f"model {info.name} v{info.version} ({args.model}), n={args.n}, trained ranges from {where}")
    print(f"reference: {len(real)} covers of {args.data}; cpu cores {os.cpu_count()}, load {os.getloadavg()[0]:.1f}")
    print(f"{'conditions':38s} {'KID x1e3':>14s} {'speckle %':>9s} {'clipped %':>9s}")
    for name, (labels, mask) in conditions.items():
        images = np.concatenate(
            [
                engine.run(
                    z[i : i + BATCH], labels[i : i + BATCH].astype(np.float32), mask[i : i + BATCH].astype(np.float32)
                )
                for i in range(0, args.n, BATCH)
            ]
        )
        score = kid(inception(images), real)
        print(
            f"{name:38s} {1e3 * score.mean:7.1f} ± {1e3 * score.std:4.1f} "
            f"{100 * speckle_share(images, args.threshold):9.2f} {100 * clipped_share(images):9.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
