"""Real-cover features, extracted once per dataset and cached.

The cache key is the dataset's content hash (images and items table), the resolution the
covers are taken at (the model's), and the feature protocol (network, resize path, input
range): change any and the features are recomputed. Features of every cover are stored, not
just mean/covariance, because KID, memorisation and the steering predictor need the rows;
hold-out splits are then just index subsets of the same cached array.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from albumgan.training.data.format import ShardedDataset
from albumgan.training.metrics.inception import FEATURE_DIM, PROTOCOL_ID, InceptionFeatures
from albumgan.training.metrics.storage import atomic_path

log = logging.getLogger(__name__)


def dataset_batches(dataset: ShardedDataset, batch_size: int) -> Iterator[np.ndarray]:
    for start in range(0, len(dataset), batch_size):
        yield dataset.batch(np.arange(start, min(start + batch_size, len(dataset))))


class RealFeatureCache:
    def __init__(self, cache_dir: str | os.PathLike):
        self.cache_dir = Path(cache_dir)

    def key(self, dataset: ShardedDataset) -> dict:
        return {
            "content_hash": dataset.content_hash,
            "resolution": dataset.resolution,
            "count": len(dataset),
            "protocol": PROTOCOL_ID,
        }

    def path_for(self, dataset: ShardedDataset) -> Path:
        digest = hashlib.sha256(json.dumps(self.key(dataset), sort_keys=True).encode()).hexdigest()[:24]
        return self.cache_dir / f"real-features-{digest}.npz"

    def _load(self, path: Path, dataset: ShardedDataset) -> np.ndarray | None:
        try:
            with np.load(path, allow_pickle=False) as data:
                key = json.loads(str(data["key"]))
                features = data["features"]
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError) as exc:
            log.warning("ignoring unreadable real-feature cache %s (%s)", path, exc)
            return None
        if key != self.key(dataset) or features.shape != (len(dataset), FEATURE_DIM):
            log.warning("ignoring real-feature cache %s: it belongs to another dataset or protocol", path)
            return None
        return features

    def features(
        self, dataset: ShardedDataset, extractor: InceptionFeatures, *, batch_size: int = 32, progress: bool = True
    ) -> tuple[np.ndarray, bool]:
        """(features of every cover in dataset order, True if they came from the cache)."""
        path = self.path_for(dataset)
        cached = self._load(path, dataset)
        if cached is not None:
            log.info("real-cover features from cache %s", path)
            return cached, True
        features = extractor.extract(
            dataset_batches(dataset, batch_size), len(dataset), desc="real covers", progress=progress
        )
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez(f, features=features, key=np.array(json.dumps(self.key(dataset), sort_keys=True)))
        log.info("cached real-cover features in %s", path)
        return features, False
