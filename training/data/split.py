"""Split a dataset into a training part and a held-out part (for memorisation checks:
real covers the model never saw). Deterministic for a given seed."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from albumgan.training.data.format import DatasetError, ShardedDataset, write_dataset


def split_dataset(source: Path, n_holdout: int, train_out: Path, holdout_out: Path, *, seed: int = 0,
                  overwrite: bool = False) -> tuple[Path, Path]:
    base = ShardedDataset(source)
    if not 0 < n_holdout < len(base):
        raise DatasetError(f"--holdout must be between 1 and {len(base) - 1} for {source} ({len(base)} items)")
    order = np.random.default_rng(seed).permutation(len(base))
    parts = {"holdout": np.sort(order[:n_holdout]), "train": np.sort(order[n_holdout:])}
    views = {res: ShardedDataset(source, res) for res in base.manifest["resolutions"]}
    written = []
    for part, out in (("train", train_out), ("holdout", holdout_out)):
        indices = parts[part]
        provenance = dict(base.manifest.get("provenance", {}))
        provenance["split"] = {"of": base.content_hash, "part": part, "seed": seed, "holdout": n_holdout, "count": len(indices)}
        written.append(write_dataset(
            out,
            [base.items[i] for i in indices],
            {res: _images(view, indices) for res, view in views.items()},
            schema=base.schema,
            provenance=provenance,
            shard_size=base.shard_size,
            overwrite=overwrite,
        ))
    return written[0], written[1]


def _images(view: ShardedDataset, indices: np.ndarray):
    return (view.image(int(i)) for i in indices)
