"""What real covers score on precision/recall: a dataset's covers split at random into two
halves, one half as "generated", the other as the reference. The scale for reading
`albumgan-eval`'s precision, recall, density and coverage (docs/QUALITY.md).

    .venv/bin/python benchmarks/precision_recall_real.py --data data/covers-train --resolution 64
"""

from __future__ import annotations

import argparse

import numpy as np

from albumgan.training.metrics.evaluate import open_dataset
from albumgan.training.metrics.inception import InceptionFeatures
from albumgan.training.metrics.precision_recall import DEFAULT_NEAREST_K, precision_recall
from albumgan.training.metrics.reference import RealFeatureCache
from albumgan.training.metrics.storage import default_cache_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="dataset directory")
    parser.add_argument("--resolution", type=int, default=64)
    parser.add_argument("--nearest-k", type=int, default=DEFAULT_NEAREST_K)
    parser.add_argument("--splits", type=int, default=5, help="random splits to average over")
    args = parser.parse_args(argv)
    dataset = open_dataset(args.data, args.resolution)
    cache_dir = default_cache_dir()
    features, _ = RealFeatureCache(cache_dir).features(dataset, InceptionFeatures(cache_dir=cache_dir))
    half = len(features) // 2
    rows = []
    for seed in range(args.splits):
        order = np.random.default_rng(seed).permutation(len(features))
        figures = precision_recall(features[order[:half]], features[order[half : 2 * half]], args.nearest_k)
        rows.append([figures.precision, figures.density, figures.recall, figures.coverage])
    mean, std = np.mean(rows, axis=0), np.std(rows, axis=0)
    dataset_name = dataset.root.name
    print(f"{dataset_name} at {args.resolution} px, {half} covers a side, k={args.nearest_k}, {args.splits} splits")
    for name, m, s in zip(("precision", "density", "recall", "coverage"), mean, std, strict=True):
        print(f"  {name:9} {m:.3f} ± {s:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
