"""The models in models/ are what `make demo` and a fresh bot use: they must load without
torch, describe themselves, carry their measured quality, and stay small."""

from __future__ import annotations

import numpy as np
import pytest

from albumgan.bot.cli import main
from albumgan.bot.engine import Engine
from tests.service_fixtures import REPO

SHIPPED = {"unconditional": REPO / "models" / "unconditional-64.onnx", "acgan": REPO / "models" / "acgan-64.onnx"}


@pytest.mark.parametrize("kind", sorted(SHIPPED))
def test_shipped_model_is_self_describing_small_and_measured(kind):
    path = SHIPPED[kind]
    assert path.stat().st_size < 16_000_000
    info = Engine.load(path, device="cpu").info
    assert (info.kind, info.resolution) == (kind, 64)
    assert info.dataset["count"] > 1000 and info.dataset["content_hash"]
    assert info.eval["n"] >= 1000 and info.eval["fid"] > 0 and info.eval["memorisation_passed"] is True
    if kind == "unconditional":  # measured since precision/recall existed (docs/QUALITY.md)
        assert 0 < info.eval["precision"] <= 1 and 0 < info.eval["recall"] <= 1
    if kind == "acgan":
        assert "NOT the tracks' own" in info.dataset["provenance"]["weak_labels"]
        assert len(info.schema) == 10


def test_shipped_models_make_distinct_covers_for_distinct_seeds():
    engine = Engine.load(SHIPPED["unconditional"], device="cpu")
    images = engine.run(engine.info.latents([1, 2]))
    assert images.shape == (2, 64, 64, 3) and images.dtype == np.uint8
    assert np.abs(images[0].astype(int) - images[1].astype(int)).mean() > 5
    assert images.std() > 10  # not a flat colour


def test_about_reports_quality_and_weak_labels(capsys):
    assert main(["--config", str(REPO / "bot.toml"), "about"]) == 0
    out = capsys.readouterr().out
    assert out.count("quality: FID") == 2 and "no memorised covers" in out
    measured = [path for path in SHIPPED.values() if "recall" in Engine.load(path, device="cpu").info.eval]
    assert measured and out.count(", recall ") == len(measured)
    assert out.count("weak labels:") == 1
