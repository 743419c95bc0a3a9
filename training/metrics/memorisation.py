"""Memorisation: how close each generated cover is to its nearest training cover.

Distance is COSINE distance (1 - cosine similarity) between TF-Inception pool features. L2 is
the wrong yardstick here: flat, low-energy images (an untrained or collapsed generator) have
small feature norms and so sit closer, by L2, to every cover than real covers do, and get
called copies. Cosine ignores the norm. Measured on the 1.5k covers at 64 px (see
docs/QUALITY.md): flipped/re-saturated copies of training covers land near 0.04, unseen real
covers around 0.25 (5th percentile 0.19), so the default copy threshold sits between them.

The generated distribution is always shown beside the same distribution for real covers that
were not trained on (a hold-out set; without one, each training cover's nearest *other* training
cover, which is what an unseen cover of the same kind looks like).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT_COPY_THRESHOLD = 0.10


@dataclass(frozen=True)
class Neighbours:
    distance: np.ndarray  # (n,) cosine distance to the nearest reference row
    index: np.ndarray  # (n,) that row


def _unit_rows(features: np.ndarray) -> np.ndarray:
    features = np.asarray(features, dtype=np.float32)
    norms = np.linalg.norm(features, axis=1, keepdims=True)
    return features / np.maximum(norms, 1e-12)


def nearest_cosine(
    queries: np.ndarray, reference: np.ndarray, *, exclude_self: bool = False, chunk: int = 1024
) -> Neighbours:
    """Nearest reference row of every query by cosine distance. `exclude_self` (queries IS
    reference) skips each row's match with itself: leave-one-out."""
    if len(reference) < (2 if exclude_self else 1):
        raise ValueError("the reference set is too small for nearest neighbours")
    q = _unit_rows(queries)
    r = _unit_rows(reference)
    distance = np.empty(len(q), np.float32)
    index = np.empty(len(q), np.int64)
    for start in range(0, len(q), chunk):
        similarity = q[start : start + chunk] @ r.T
        if exclude_self:
            rows = np.arange(len(similarity))
            similarity[rows, start + rows] = -np.inf
        best = similarity.argmax(axis=1)
        index[start : start + chunk] = best
        distance[start : start + chunk] = 1.0 - similarity[np.arange(len(best)), best]
    return Neighbours(np.clip(distance, 0.0, 2.0), index)


def summarise(distance: np.ndarray, threshold: float) -> dict:
    distance = np.asarray(distance, dtype=np.float64)
    return {
        "n": int(len(distance)),
        "min": float(distance.min()),
        "p5": float(np.percentile(distance, 5)),
        "median": float(np.median(distance)),
        "fraction_below_threshold": float((distance < threshold).mean()),
    }


def memorisation_report(
    generated: np.ndarray,
    training: np.ndarray,
    holdout: np.ndarray | None = None,
    *,
    threshold: float = DEFAULT_COPY_THRESHOLD,
    closest: int = 16,
) -> tuple[dict, Neighbours]:
    """The JSON-ready report plus the generated images' neighbours (for the pair grid).

    `suspected_copies` counts generated images closer than the threshold; `passed` holds when
    that fraction is no larger than the real unseen covers' own fraction (plus 1 %): real covers
    legitimately have near-twins (same artist, same template), a memorising model has many more.
    """
    generated_nn = nearest_cosine(generated, training)
    if holdout is not None and len(holdout):
        real_nn = nearest_cosine(holdout, training)
        basis = "held-out covers -> nearest training cover"
    else:
        real_nn = nearest_cosine(training, training, exclude_self=True)
        basis = "training covers -> nearest other training cover (leave-one-out; no hold-out given)"
    generated_summary = summarise(generated_nn.distance, threshold)
    real_summary = summarise(real_nn.distance, threshold)
    order = np.argsort(generated_nn.distance)[:closest]
    report = {
        "distance": "cosine, TF-Inception pool features",
        "threshold": threshold,
        "generated": generated_summary,
        "real_unseen": {**real_summary, "basis": basis},
        "suspected_copies": int((generated_nn.distance < threshold).sum()),
        "passed": generated_summary["fraction_below_threshold"] <= real_summary["fraction_below_threshold"] + 0.01,
        "closest_pairs": [
            {"generated": int(i), "training": int(generated_nn.index[i]), "distance": float(generated_nn.distance[i])}
            for i in order
        ],
    }
    return report, generated_nn
