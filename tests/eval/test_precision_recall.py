"""Precision/recall/density/coverage on feature arrays: a model that draws only a few of the real
modes keeps its precision and loses its recall and coverage; one that draws off the real manifold
loses precision; one that draws like the data scores high on all."""

from __future__ import annotations

import numpy as np
import pytest

from albumgan.training.metrics.precision_recall import precision_recall

DIM, MODES, PER_MODE = 16, 10, 60


def _modes(rng: np.random.Generator) -> np.ndarray:
    return rng.normal(0, 10, (MODES, DIM))


def _draw(rng: np.random.Generator, centres: np.ndarray, n: int) -> np.ndarray:
    return (centres[rng.integers(0, len(centres), n)] + rng.normal(0, 1, (n, DIM))).astype(np.float32)


@pytest.fixture
def world():
    rng = np.random.default_rng(0)
    centres = _modes(rng)
    return rng, centres, _draw(rng, centres, MODES * PER_MODE)


def test_a_model_drawing_like_the_data_scores_high_on_fidelity_and_diversity(world):
    rng, centres, real = world
    figures = precision_recall(_draw(rng, centres, len(real)), real)
    assert figures.precision > 0.8 and figures.recall > 0.8 and figures.coverage > 0.9
    assert 0.7 < figures.density < 1.3  # about 1 when the two sets share a distribution


def test_a_model_that_draws_two_of_ten_modes_keeps_precision_and_loses_diversity(world):
    rng, centres, real = world
    collapsed = precision_recall(_draw(rng, centres[:2], len(real)), real)
    assert collapsed.precision > 0.8
    assert collapsed.recall < 0.35 and collapsed.coverage < 0.35


def test_a_model_off_the_real_manifold_loses_precision(world):
    rng, centres, real = world
    elsewhere = precision_recall(_draw(rng, centres + 8.0, len(real)), real)
    assert elsewhere.precision < 0.1 and elsewhere.density < 0.1 and elsewhere.coverage < 0.1


def test_both_sets_are_cut_to_the_smaller_size_reproducibly(world):
    rng, centres, real = world
    generated = _draw(rng, centres, 5 * len(real))
    first, again = precision_recall(generated, real, seed=3), precision_recall(generated, real, seed=3)
    assert first == again and first.n == len(real) and first.nearest_k == 5
    assert precision_recall(generated, real[:100], nearest_k=3).n == 100


def test_too_few_rows_for_the_neighbourhood_is_refused(world):
    _, _, real = world
    with pytest.raises(ValueError, match="needs more than 5 rows"):
        precision_recall(real[:5], real)
