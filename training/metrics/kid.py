"""Kernel Inception Distance (Bińkowski et al. 2018): the unbiased squared MMD between two
feature sets under the cubic polynomial kernel k(x, y) = (x.y / d + 1)^3, averaged over random
subsets; reported as mean ± standard deviation over those subsets (torch-fidelity's defaults:
100 subsets of 1,000). Unbiased, so usable with the ~1.5k real covers where FID is not.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

DEFAULT_SUBSETS = 100
DEFAULT_SUBSET_SIZE = 1000


@dataclass(frozen=True)
class KidResult:
    mean: float
    std: float
    subsets: int
    subset_size: int

    def to_dict(self) -> dict:
        return asdict(self)


def _polynomial_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    # The dot products in float32 (the features' own precision, 4x faster), the sums in float64.
    return (np.asarray(x @ y.T, dtype=np.float64) / x.shape[1] + 1.0) ** 3


def mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    m = len(x)
    k_xx = _polynomial_kernel(x, x)
    k_yy = _polynomial_kernel(y, y)
    k_xy = _polynomial_kernel(x, y)
    same = (k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
    return float(same - 2.0 * k_xy.mean())


def kid(
    features_a: np.ndarray,
    features_b: np.ndarray,
    subsets: int = DEFAULT_SUBSETS,
    subset_size: int = DEFAULT_SUBSET_SIZE,
    seed: int = 0,
) -> KidResult:
    """KID between two (n, d) feature sets; the subset size shrinks to the smaller set if needed."""
    a = np.asarray(features_a, dtype=np.float32)
    b = np.asarray(features_b, dtype=np.float32)
    size = min(subset_size, len(a), len(b))
    if size < 2:
        raise ValueError(f"KID needs at least 2 rows per set, got {len(a)} and {len(b)}")
    if subsets < 1:
        raise ValueError("KID needs at least one subset")
    rng = np.random.default_rng(seed)
    values = np.array(
        [
            mmd2_unbiased(a[rng.choice(len(a), size, replace=False)], b[rng.choice(len(b), size, replace=False)])
            for _ in range(subsets)
        ]
    )
    return KidResult(mean=float(values.mean()), std=float(values.std()), subsets=subsets, subset_size=size)
