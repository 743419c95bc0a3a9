"""Fréchet Inception Distance from features (Heusel et al. 2017).

FID = |mu_a - mu_b|^2 + tr(S_a) + tr(S_b) - 2 tr((S_a S_b)^(1/2)). The last trace is computed
as the sum of square roots of the eigenvalues of S_a^(1/2) S_b S_a^(1/2), which is symmetric
positive semi-definite: two symmetric eigendecompositions, no complex sqrtm round-off. When a
set has fewer rows than feature dimensions the covariances are low-rank and the same trace is
the nuclear norm of A B^T / sqrt((n_a - 1)(n_b - 1)) for the centred feature rows A, B: exact,
and far cheaper than 2048 x 2048 decompositions.
FID is biased upward at small N: compare figures only under one protocol (same N, reference
and resize path), and read KID beside it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class GaussianStats:
    mean: np.ndarray  # (d,) float64
    cov: np.ndarray  # (d, d) float64
    count: int

    @classmethod
    def from_features(cls, features: np.ndarray) -> GaussianStats:
        features = np.asarray(features, dtype=np.float64)
        if features.ndim != 2 or len(features) < 2:
            raise ValueError(f"need at least 2 feature rows for a covariance, got shape {features.shape}")
        return cls(features.mean(axis=0), np.cov(features, rowvar=False), len(features))


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


def frechet_distance(a: GaussianStats, b: GaussianStats) -> float:
    if a.mean.shape != b.mean.shape:
        raise ValueError(f"feature sizes differ: {a.mean.shape} vs {b.mean.shape}")
    root_a = _psd_sqrt(a.cov)
    middle = root_a @ b.cov @ root_a
    eigenvalues = np.linalg.eigvalsh((middle + middle.T) / 2)
    trace_covmean = float(np.sqrt(np.clip(eigenvalues, 0, None)).sum())
    diff = a.mean - b.mean
    value = float(diff @ diff + np.trace(a.cov) + np.trace(b.cov) - 2 * trace_covmean)
    return max(value, 0.0)


def fid(features_a: np.ndarray, features_b: np.ndarray) -> float:
    a = np.asarray(features_a, dtype=np.float64)
    b = np.asarray(features_b, dtype=np.float64)
    if min(len(a), len(b)) > a.shape[1]:
        return frechet_distance(GaussianStats.from_features(a), GaussianStats.from_features(b))
    if min(len(a), len(b)) < 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"need at least 2 rows of equal feature size, got {a.shape} and {b.shape}")
    centred_a = a - a.mean(axis=0)
    centred_b = b - b.mean(axis=0)
    scale = np.sqrt((len(a) - 1) * (len(b) - 1))
    trace_covmean = float(np.linalg.svd(centred_a @ centred_b.T / scale, compute_uv=False).sum())
    traces = (centred_a**2).sum() / (len(a) - 1) + (centred_b**2).sum() / (len(b) - 1)
    diff = a.mean(axis=0) - b.mean(axis=0)
    return max(float(diff @ diff + traces - 2 * trace_covmean), 0.0)
