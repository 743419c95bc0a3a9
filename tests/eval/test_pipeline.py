"""The evaluation pipeline end to end on a tiny dataset: metrics computed, the real-feature
cache hit on the second run, hold-out splits, and FID against itself ~0 / against noise large."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from albumgan.modelfile import ModelInfo
from albumgan.training.data.format import Item, ShardedDataset, write_dataset
from albumgan.training.metrics.evaluate import EvalConfig, EvalError, evaluate
from albumgan.training.metrics.grids import GAP, line_height
from albumgan.training.metrics.samplers import open_sampler
from tests.eval.conftest import COVERS, RESOLUTION, make_checkpoint, structured_covers, write_covers

N = 16


class ReplaySampler:
    """A "model" that returns the dataset's own covers (seed i -> cover i), or uniform noise."""

    def __init__(self, root, noise: bool = False):
        self.dataset = ShardedDataset(root)
        self.noise = noise
        self.info = ModelInfo(
            kind="unconditional",
            format="test",
            path=Path(root),
            resolution=self.dataset.resolution,
            z_dim=4,
            latent_prior="normal",
            schema=None,
            step=0,
            name="replay",
        )
        self.calls = 0

    def generate(self, z, labels=None, mask=None):
        self.calls += 1
        start = (self.calls - 1) * len(z)
        if self.noise:
            return np.random.default_rng(self.calls).integers(
                0, 256, (len(z), *self.dataset.image(0).shape), dtype=np.uint8
            )
        return self.dataset.batch(np.arange(start, start + len(z)) % len(self.dataset))


def test_checkpoint_pipeline_computes_metrics_and_hits_the_cache(tmp_path, covers, extractor):
    sampler = open_sampler(make_checkpoint(tmp_path / "g.pt", "unconditional"))
    config = EvalConfig(n=N, kid_subsets=10, cache_dir=tmp_path / "cache", out_dir=tmp_path / "out", progress=False)
    seen = extractor.images_seen
    first = evaluate(sampler, covers, config, extractor=extractor)
    assert extractor.images_seen - seen == COVERS + N
    assert first["protocol"]["reference"]["features_cached"] is False
    assert first["protocol"]["resize"] == f"{RESOLUTION}px -> bilinear 299px"
    assert first["protocol"]["n_generated"] == N and first["protocol"]["reference"]["count"] == COVERS
    assert np.isfinite(first["fid"]["value"]) and first["fid"]["value"] > 0
    assert set(first["kid"]) >= {"mean", "std", "subsets", "subset_size"} and first["kid"]["subset_size"] == N
    assert first["memorisation"]["generated"]["n"] == N and "steering" not in first
    assert first["precision_recall"]["n"] == N and 0 <= first["summary"]["recall"] <= 1
    assert first["summary"]["fid"] == round(first["fid"]["value"], 2)
    on_disk = json.loads((tmp_path / "out" / "eval.json").read_text())
    assert on_disk["fid"] == first["fid"] and on_disk["kid"] == first["kid"]
    for name in ("samples.png", "closest-pairs.png", "closest-generated.png"):
        assert (tmp_path / "out" / name).is_file()
    with (
        Image.open(tmp_path / "out" / "closest-pairs.png") as pairs,
        Image.open(tmp_path / "out" / "closest-generated.png") as generated_only,
        Image.open(tmp_path / "out" / "samples.png") as samples,
    ):
        assert generated_only.width < pairs.width  # the real halves are left out
        grid_height = 2 * RESOLUTION + GAP  # N samples in rows of 8
        assert samples.height > grid_height + line_height()  # a caption band below the grid
        band = np.asarray(samples.convert("L"))[grid_height:]
        assert (band < 100).sum() > 50  # with text in it

    seen = extractor.images_seen
    second = evaluate(sampler, covers, config, extractor=extractor)
    assert extractor.images_seen - seen == N  # generated only: real features came from the cache
    assert second["protocol"]["reference"]["features_cached"] is True
    assert second["fid"]["value"] == pytest.approx(first["fid"]["value"], rel=1e-4)  # same seeds, same images


def test_fid_of_the_covers_against_themselves_is_zero_and_against_noise_large(covers, cache_dir, extractor):
    config = EvalConfig(
        n=COVERS,
        metrics=("fid", "kid", "precision_recall", "memorisation"),
        kid_subsets=10,
        cache_dir=cache_dir,
        progress=False,
    )
    itself = evaluate(ReplaySampler(covers), covers, config, extractor=extractor)
    noise = evaluate(ReplaySampler(covers, noise=True), covers, config, extractor=extractor)
    assert itself["fid"]["value"] == pytest.approx(0.0, abs=1e-2)
    assert noise["fid"]["value"] > 100
    assert noise["kid"]["mean"] > 10 * abs(itself["kid"]["mean"]) + 0.01
    # The covers themselves reach every real cover; noise looks like none of them.
    assert itself["precision_recall"]["precision"] == 1.0 and itself["precision_recall"]["coverage"] == 1.0
    assert noise["precision_recall"]["precision"] == 0.0 and noise["precision_recall"]["coverage"] == 0.0
    # A model that replays its training covers is caught, whatever its FID.
    assert itself["memorisation"]["suspected_copies"] == COVERS and itself["memorisation"]["passed"] is False
    assert noise["memorisation"]["suspected_copies"] == 0 and noise["memorisation"]["passed"] is True


def test_holdout_id_list_splits_the_reference(tmp_path, covers, cache_dir, extractor):
    held_ids = [f"cover-{k:03d}" for k in (1, 5, 9, 13, 17, 21)]
    holdout = tmp_path / "holdout.txt"
    holdout.write_text("# not trained on\n" + "\n".join(held_ids) + "\n")
    config = EvalConfig(n=COVERS, kid_subsets=5, holdout=holdout, cache_dir=cache_dir, progress=False)
    report = evaluate(ReplaySampler(covers), covers, config, extractor=extractor)
    assert report["protocol"]["reference"]["count"] == COVERS - len(held_ids)
    assert report["protocol"]["holdout"]["count"] == len(held_ids)
    assert report["memorisation"]["real_unseen"]["n"] == len(held_ids)
    assert "real_floor" in report["fid"] and "real_floor" in report["kid"]
    # The replayed held-out covers were never in the reference: not copies of training covers.
    assert report["memorisation"]["suspected_copies"] == COVERS - len(held_ids)
    assert {p["training_id"] for p in report["memorisation"]["closest_pairs"]}.isdisjoint(held_ids)

    holdout.write_text("cover-001\nno-such-cover\n")
    seen = extractor.images_seen
    with pytest.raises(EvalError, match="1 ids are not in"):
        evaluate(ReplaySampler(covers), covers, config, extractor=extractor)
    assert extractor.images_seen == seen  # refused before any work


def test_holdout_dataset_directory_is_the_unseen_set(tmp_path, covers, cache_dir, extractor):
    unseen = write_covers(tmp_path / "unseen", structured_covers(4, RESOLUTION, seed=9))
    config = EvalConfig(n=8, metrics=("memorisation",), holdout=unseen, cache_dir=cache_dir, progress=False)
    report = evaluate(ReplaySampler(covers), covers, config, extractor=extractor)
    assert report["protocol"]["reference"]["count"] == COVERS and report["protocol"]["holdout"]["kind"] == "dataset"
    assert report["memorisation"]["real_unseen"]["n"] == 4
    assert report["memorisation"]["suspected_copies"] == 8  # replayed training covers


def test_steering_is_refused_for_an_unconditional_model(tmp_path, covers, extractor):
    with pytest.raises(EvalError, match="conditional"):
        evaluate(
            ReplaySampler(covers), covers, EvalConfig(n=4, metrics=("steering",), progress=False), extractor=extractor
        )


def test_a_model_is_scored_at_another_resolution_with_its_covers_resized(tmp_path, cache_dir, extractor):
    # The same covers at 16 px and, made from them by bilinear enlargement, at 32 px: a 16 px
    # model replaying them, scored on the 32 px protocol, is compared with the 32 px covers.
    small = structured_covers(COVERS, RESOLUTION, seed=3)
    large = np.stack([np.asarray(Image.fromarray(im).resize((32, 32), Image.Resampling.BILINEAR)) for im in small])
    root = write_covers(tmp_path / "small", small)
    items = [Item(id=f"cover-{k:03d}", features={}, feature_sources={}) for k in range(COVERS)]
    both = write_dataset(tmp_path / "two-sizes", items, {RESOLUTION: iter(small), 32: iter(large)})
    config = EvalConfig(n=COVERS, metrics=("fid", "memorisation"), cache_dir=cache_dir, progress=False, resolution=32)
    report = evaluate(ReplaySampler(root), both, config, extractor=extractor)
    assert report["protocol"]["resolution"] == 32 and report["model"]["resolution"] == RESOLUTION
    assert report["protocol"]["resize"] == f"{RESOLUTION}px -> bilinear 32px, then 32px -> bilinear 299px"
    assert report["fid"]["value"] == pytest.approx(0.0, abs=1e-2)
    assert report["memorisation"]["suspected_copies"] == COVERS
    # Without the option the same model is scored at its own 16 px against the 16 px covers.
    native = evaluate(ReplaySampler(root), both, dataclasses.replace(config, resolution=None), extractor=extractor)
    assert native["protocol"]["resolution"] == RESOLUTION and native["fid"]["value"] == pytest.approx(0.0, abs=1e-2)
