"""Feature steering: the measurement is proved on a synthetic world where the features truly
determine the cover (valence -> hue, energy -> brightness, ...), through the same evaluation
path real models take."""

from __future__ import annotations

import numpy as np
from PIL import Image

from albumgan.training.metrics.evaluate import EvalConfig, evaluate
from albumgan.training.metrics.grids import line_height
from albumgan.training.metrics.steering import fit_predictor, split_rows, sweep_conditions
from albumgan.training.metrics.synthetic import DRIVEN, SyntheticSampler, write_synthetic_dataset


def test_ridge_predictor_recovers_a_linear_signal_and_ignores_masked_rows():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((240, 40))
    labels = np.stack([np.tanh(x[:, 0] + 0.5 * x[:, 1]), rng.uniform(-1, 1, 240)], axis=1)
    mask = np.ones_like(labels)
    mask[:80, 0] = 0
    labels[:80, 0] = 99.0  # masked garbage must not be learned
    predictor = fit_predictor(x, labels, mask, ("signal", "noise"))
    assert predictor.rows == {"signal": 160, "noise": 240}
    assert predictor.cv_r["signal"] > 0.8 and abs(predictor.cv_r["noise"]) < 0.4
    fresh = rng.standard_normal((200, 40))
    assert np.corrcoef(predictor.predict(fresh)[:, 0], np.tanh(fresh[:, 0] + 0.5 * fresh[:, 1]))[0, 1] > 0.8


def test_split_rows_and_sweep_conditions():
    fit, score = split_rows(11, seed=3)
    assert len(fit) == 5 and len(score) == 6 and not set(fit) & set(score)
    labels, mask = sweep_conditions(np.zeros((2, 3)), np.zeros((2, 3)), 1, np.array([-1.0, 0.0, 1.0]))
    assert labels[:, 1].tolist() == [-1, 0, 1, -1, 0, 1] and mask[:, 1].tolist() == [1] * 6
    assert not labels[:, [0, 2]].any() and not mask[:, [0, 2]].any()


def test_synthetic_steering_correlation_is_high(tmp_path, extractor):
    data = write_synthetic_dataset(tmp_path / "synthetic", count=96, resolution=32, seed=0)
    config = EvalConfig(
        n=64,
        metrics=("steering",),
        sweep_seeds=1,
        cache_dir=tmp_path / "cache",
        out_dir=tmp_path / "out",
        progress=False,
    )
    report = evaluate(SyntheticSampler(32), data, config, extractor=extractor)
    features = report["steering"]["features"]
    for name in DRIVEN:
        assert features[name]["r"] > 0.8, (name, features[name])
        assert report["steering"]["sweeps"][name]["r"] > 0.5, name  # 7 points: a clear trend
        with Image.open(tmp_path / "out" / f"sweep-{name}.png") as sweep:
            assert sweep.height > 32 + line_height()  # one row of 32 px covers, then the caption band
    undriven = [abs(v["r"]) for k, v in features.items() if k not in DRIVEN]
    assert np.mean(undriven) < 0.4, features
