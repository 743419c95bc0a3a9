"""Memorisation by cosine distance: copies of training covers sit closer than unseen covers."""

from __future__ import annotations

import numpy as np
import pytest

from albumgan.training.metrics.grids import pair_grid
from albumgan.training.metrics.memorisation import memorisation_report, nearest_cosine, summarise
from tests.eval.conftest import structured_covers


def test_nearest_cosine_ignores_norm_and_can_leave_one_out():
    reference = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], np.float32)
    found = nearest_cosine(np.array([[10.0, 0.5], [0.1, 3.0]], np.float32), reference)
    assert found.index.tolist() == [0, 1]  # direction decides, not the far larger norm
    loo = nearest_cosine(reference, reference, exclude_self=True)
    assert loo.index.tolist() == [2, 2, 0]
    assert loo.distance.min() > 0.2
    with pytest.raises(ValueError, match="too small"):
        nearest_cosine(reference[:1], reference[:1], exclude_self=True)


def test_summary_fields():
    s = summarise(np.array([0.05, 0.2, 0.3, 0.4]), threshold=0.1)
    assert s["n"] == 4 and s["min"] == pytest.approx(0.05)
    assert s["median"] == pytest.approx(0.25) and s["fraction_below_threshold"] == pytest.approx(0.25)


def test_exact_and_flipped_copies_are_flagged_unseen_covers_are_not(extractor):
    covers = structured_covers(28, 32, seed=11)
    training, unseen = covers[:16], covers[16:]
    copies = np.concatenate([training[:4], training[4:8, :, ::-1]])  # exact, mirrored
    train_f = extractor(training)
    copies_f = extractor(copies)
    unseen_f = extractor(unseen)
    copy_nn = nearest_cosine(copies_f, train_f)
    unseen_nn = nearest_cosine(unseen_f, train_f)
    assert copy_nn.index.tolist() == list(range(8))  # each copy finds its own source
    assert copy_nn.distance.max() < unseen_nn.distance.min()
    report, _ = memorisation_report(copies_f, train_f, unseen_f, threshold=float(copy_nn.distance.max()) + 1e-3)
    assert report["suspected_copies"] == 8 and report["passed"] is False
    assert report["real_unseen"]["fraction_below_threshold"] == 0.0
    honest, _ = memorisation_report(unseen_f[:6], train_f, unseen_f[6:], threshold=float(copy_nn.distance.max()) + 1e-3)
    assert honest["suspected_copies"] == 0 and honest["passed"] is True
    assert honest["real_unseen"]["basis"].startswith("held-out")


def test_pair_grid_places_pairs_side_by_side():
    left = np.zeros((5, 8, 8, 3), np.uint8)
    right = np.full((5, 8, 8, 3), 200, np.uint8)
    grid = np.asarray(pair_grid(left, right, pairs_per_row=2))
    assert grid.shape == (3 * 8 + 2 * 2, 2 * (16 + 2) + 8, 3)
    assert (grid[:8, :8] == 0).all() and (grid[:8, 10:18] == 200).all()
