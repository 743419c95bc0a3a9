"""FID and KID on feature arrays: known values, self-distance ~0, separation, KID shape."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import linalg

from albumgan.training.metrics.fid import GaussianStats, fid, frechet_distance
from albumgan.training.metrics.kid import kid, mmd2_unbiased


def _scipy_fid(a: np.ndarray, b: np.ndarray) -> float:
    """The textbook formula with scipy's sqrtm, as an independent reference."""
    sa, sb = GaussianStats.from_features(a), GaussianStats.from_features(b)
    covmean = linalg.sqrtm(sa.cov @ sb.cov).real
    diff = sa.mean - sb.mean
    return float(diff @ diff + np.trace(sa.cov + sb.cov - 2 * covmean))


def test_fid_matches_the_sqrtm_formula():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((400, 24))
    b = rng.standard_normal((300, 24)) @ rng.uniform(0.5, 1.5, (24, 24)) / 4 + 0.3
    assert fid(a, b) == pytest.approx(_scipy_fid(a, b), rel=1e-6)


def test_low_rank_path_equals_the_full_formula_when_rows_are_fewer_than_dimensions():
    rng = np.random.default_rng(5)
    a = rng.gamma(2.0, 0.3, (30, 64))
    b = rng.gamma(2.0, 0.3, (50, 64)) * 1.2
    full = frechet_distance(GaussianStats.from_features(a), GaussianStats.from_features(b))
    assert fid(a, b) == pytest.approx(full, rel=1e-6)


def test_fid_of_gaussians_with_known_parameters():
    # Two diagonal Gaussians: FID = |dmu|^2 + sum (s1 - s2)^2 for standard deviations s.
    d = 8
    a = GaussianStats(np.zeros(d), np.diag(np.full(d, 4.0)), 100)
    b = GaussianStats(np.ones(d), np.diag(np.full(d, 1.0)), 100)
    assert frechet_distance(a, b) == pytest.approx(d * 1.0 + d * (2.0 - 1.0) ** 2)


def test_fid_of_a_set_against_itself_is_zero_and_against_noise_large():
    rng = np.random.default_rng(1)
    real = rng.gamma(2.0, 0.3, (500, 64))  # non-negative, like pooled ReLU features
    assert fid(real, real) == pytest.approx(0.0, abs=1e-6)
    noise = rng.gamma(2.0, 0.3, (500, 64)) * 3.0 + 1.0
    assert fid(real, noise) > 100 * max(fid(real[:250], real[250:]), 1e-3)


def test_fid_rejects_single_rows_and_mismatched_sizes():
    with pytest.raises(ValueError, match="at least 2"):
        fid(np.zeros((1, 4)), np.zeros((5, 4)))
    with pytest.raises(ValueError, match="feature sizes differ"):
        fid(np.random.rand(5, 4), np.random.rand(5, 3))


def test_mmd_matches_the_explicit_unbiased_sum():
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((6, 5)), rng.standard_normal((6, 5)) + 0.5
    k = lambda u, v: (u @ v / 5 + 1) ** 3  # noqa: E731
    m = len(x)
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / (m * m)
    assert mmd2_unbiased(x.astype(np.float32), y.astype(np.float32)) == pytest.approx(xx + yy - 2 * xy, rel=1e-4)


def test_kid_is_mean_and_std_over_subsets():
    rng = np.random.default_rng(3)
    a = rng.gamma(2.0, 0.3, (300, 32)).astype(np.float32)
    same = rng.gamma(2.0, 0.3, (300, 32)).astype(np.float32)
    shifted = same * 1.5 + 0.5
    near = kid(a, same, subsets=20, subset_size=100, seed=0)
    far = kid(a, shifted, subsets=20, subset_size=100, seed=0)
    assert (near.subsets, near.subset_size) == (20, 100)
    assert near.std > 0 and abs(near.mean) < 3 * near.std + 1e-3  # unbiased: centred on 0
    assert far.mean > 10 * (abs(near.mean) + near.std)
    assert set(near.to_dict()) == {"mean", "std", "subsets", "subset_size"}
    assert kid(a, shifted, subsets=20, subset_size=100, seed=0) == far  # seeded subsets


def test_kid_subset_size_shrinks_to_the_smaller_set():
    rng = np.random.default_rng(4)
    result = kid(rng.random((40, 8)), rng.random((25, 8)), subsets=3, subset_size=1000)
    assert result.subset_size == 25
    with pytest.raises(ValueError, match="at least 2"):
        kid(rng.random((1, 8)), rng.random((25, 8)))
