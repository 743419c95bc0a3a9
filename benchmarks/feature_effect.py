"""Does the song show? How much a conditional model's cover changes when only the audio
features change (same seed), against when only the seed changes (same features).

    .venv/bin/python benchmarks/feature_effect.py models/acgan-64.onnx --data data/covers-train --n 200

For n seeds it draws covers for two real label rows of the dataset: the most energetic,
least acoustic track and the most acoustic, least energetic one (the /cover contrast people
try first), and for a second set of seeds with the first row. It prints the mean absolute
pixel difference (0-255) and the mean distance of TF-Inception pool3 features (what FID
sees) for "features changed" and "seed changed", and their ratio: 1.0 would mean a new song
changes a cover as much as a new seed does; near 0, the song barely shows.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

from albumgan.bot.engine import Engine
from albumgan.training.data.format import ShardedDataset
from albumgan.training.metrics.inception import InceptionFeatures


def contrast_rows(dataset: ShardedDataset, names: list[str]) -> tuple[int, int]:
    """Dataset rows: the most energetic-not-acoustic and the most acoustic-not-energetic,
    among rows where both features are present (labels are normalised to [-1, 1])."""
    energy, acoustic = names.index("energy"), names.index("acousticness")
    labels, mask = dataset.labels, dataset.mask
    usable = np.flatnonzero((mask[:, energy] > 0) & (mask[:, acoustic] > 0))
    score = labels[usable, energy] - labels[usable, acoustic]
    return int(usable[np.argmax(score)]), int(usable[np.argmin(score)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", type=Path, help="an exported conditional (acgan) model")
    parser.add_argument("--data", type=Path, required=True, help="the dataset whose label rows to use")
    parser.add_argument("--n", type=int, default=200, help="seeds per comparison")
    args = parser.parse_args(argv)
    engine = Engine.load(args.model, device="cpu")
    info = engine.info
    if info.schema is None:
        parser.error(f"{args.model} is unconditional: there are no features to change")
    dataset = ShardedDataset(args.data, info.resolution)
    loud, quiet = contrast_rows(dataset, list(info.schema.names))
    labels, mask = dataset.labels.astype(np.float32), dataset.mask.astype(np.float32)

    def covers(seeds: range, row: int) -> np.ndarray:
        z = info.latents(list(seeds))
        return engine.run(z, np.repeat(labels[row : row + 1], len(z), 0), np.repeat(mask[row : row + 1], len(z), 0))

    seeds, other_seeds = range(args.n), range(10**6, 10**6 + args.n)
    energetic, acoustic, reseeded = covers(seeds, loud), covers(seeds, quiet), covers(other_seeds, loud)
    features = InceptionFeatures()

    def pixel(a: np.ndarray, b: np.ndarray) -> float:
        return float(np.abs(a.astype(np.float64) - b.astype(np.float64)).mean())

    def inception(a: np.ndarray, b: np.ndarray) -> float:
        return float(np.linalg.norm(features(a) - features(b), axis=1).mean())

    rows = {
        "pixel |diff| (0-255)": (pixel(energetic, acoustic), pixel(energetic, reseeded)),
        "Inception distance": (inception(energetic, acoustic), inception(energetic, reseeded)),
    }
    print(f"model {info.name} v{info.version} ({args.model}), n={args.n} seeds, dataset rows {loud} vs {quiet}")
    print(f"cpu cores {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}")
    print(f"{'measure':24s} {'features changed':>17s} {'seed changed':>13s} {'ratio':>6s}")
    for name, (by_features, by_seed) in rows.items():
        print(f"{name:24s} {by_features:17.2f} {by_seed:13.2f} {by_features / by_seed:6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
