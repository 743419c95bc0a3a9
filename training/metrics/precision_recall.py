"""Fidelity and diversity apart: precision, recall, density and coverage of the generated
covers' Inception features against the real ones, on k-nearest-neighbour manifolds
(Kynkäänniemi et al. 2019; Naeem et al. 2020, whose `prdc` package computes them).

FID and KID fold both into one number; a model that draws a few convincing motifs over and over
can improve them while its variety shrinks. Precision (and density) say how much of what the
model draws looks like real covers; recall (and coverage) say how much of the real covers'
variety the model reaches. Coverage is the robust one of the two diversity figures: recall
counts a real cover as reached when it falls inside any generated sample's neighbourhood, and one
odd generated sample far from everything has a huge neighbourhood.

The figures depend on how many points each manifold has, so both sets are cut to the same size
(the smaller of the two, generated covers drawn at random with the evaluation's seed) and
figures compare only at the same reference count.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import asdict, dataclass

import numpy as np

DEFAULT_NEAREST_K = 5  # Naeem et al.'s choice for density and coverage


@dataclass(frozen=True)
class PrecisionRecall:
    precision: float
    recall: float
    density: float
    coverage: float
    nearest_k: int
    n: int  # points in each manifold

    def to_dict(self) -> dict:
        return asdict(self)


def precision_recall(
    generated: np.ndarray, real: np.ndarray, nearest_k: int = DEFAULT_NEAREST_K, seed: int = 0
) -> PrecisionRecall:
    """Both (n, d) feature sets are cut to the smaller one's size before the manifolds are built."""
    try:
        from prdc import compute_prdc
    except ImportError as exc:
        raise ImportError("precision/recall needs the prdc package: pip install 'albumgan[eval]'") from exc
    n = min(len(generated), len(real))
    if n <= nearest_k:
        raise ValueError(f"precision/recall with k={nearest_k} needs more than {nearest_k} rows per set, got {n}")
    rng = np.random.default_rng(seed)

    def cut(features: np.ndarray) -> np.ndarray:
        rows = np.sort(rng.choice(len(features), n, replace=False)) if len(features) > n else slice(None)
        return np.asarray(features[rows], dtype=np.float32)

    generated_cut, real_cut = cut(generated), cut(real)
    with contextlib.redirect_stdout(io.StringIO()):  # prdc prints the set sizes on every call
        figures = compute_prdc(real_features=real_cut, fake_features=generated_cut, nearest_k=nearest_k)
    return PrecisionRecall(**{name: float(value) for name, value in figures.items()}, nearest_k=nearest_k, n=n)
