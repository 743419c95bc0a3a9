"""Shared fixtures for the evaluation tests: one Inception extractor for the session (its ONNX
export is the slow part), tiny real datasets and tiny checkpoints in training's format."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from albumgan.labels import DEFAULT_SCHEMA
from albumgan.training.architectures import network_state
from albumgan.training.checkpoint import FORMAT, VERSION, save_checkpoint
from albumgan.training.data.format import Item, write_dataset
from albumgan.training.metrics.inception import InceptionFeatures
from albumgan.training.networks import Generator

Z_DIM = 16
RESOLUTION = 16
WIDTH = 8
COVERS = 24


def structured_covers(count: int, resolution: int, seed: int) -> np.ndarray:
    """Varied cover-like images: a two-colour gradient with a few solid rectangles."""
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0.0, 1.0, resolution, dtype=np.float32)[None, :, None]
    out = []
    for _ in range(count):
        a, b = rng.uniform(0, 255, (2, 3)).astype(np.float32)
        image = np.repeat(a + (b - a) * ramp, resolution, axis=0)
        if rng.random() < 0.5:
            image = image.transpose(1, 0, 2)
        for _ in range(rng.integers(1, 4)):
            y, x = rng.integers(0, resolution - 3, 2)
            h, w = rng.integers(3, resolution // 2 + 2, 2)
            image[y : y + h, x : x + w] = rng.uniform(0, 255, 3)
        out.append(image.round().astype(np.uint8))
    return np.stack(out)


def write_covers(path, images: np.ndarray, *, with_features: bool = False, seed: int = 0):
    rng = np.random.default_rng(seed)
    items = []
    for k in range(len(images)):
        features = DEFAULT_SCHEMA.decode(rng.uniform(-1, 1, len(DEFAULT_SCHEMA))) if with_features else {}
        items.append(Item(id=f"cover-{k:03d}", features=features, feature_sources=dict.fromkeys(features, "test")))
    return write_dataset(path, items, {images.shape[1]: iter(images)}, provenance={"source": "eval tests"})


def make_checkpoint(path, kind: str, *, seed: int = 0):
    """A checkpoint in training's format holding a randomly initialised tiny generator."""
    torch.manual_seed(seed)
    c_dim = len(DEFAULT_SCHEMA) if kind == "acgan" else 0
    generator = Generator(z_dim=Z_DIM, resolution=RESOLUTION, width=WIDTH, c_dim=c_dim)
    state = network_state(generator)
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "kind": kind,
        "step": 7,
        "generator": state,
        "generator_ema": state,
        "meta": {
            "latent_prior": "normal",
            "label_schema": DEFAULT_SCHEMA.to_dict() if kind == "acgan" else None,
            "dataset": {"count": COVERS, "provenance": {"source": "eval tests"}},
            "config": {},
            "created": "2026-11-25T12:00:00+00:00",
        },
    }
    return save_checkpoint(path, payload)


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory):
    """Holds the exported Inception network for the whole session."""
    return tmp_path_factory.mktemp("eval-cache")


@pytest.fixture(scope="session")
def extractor(cache_dir):
    return InceptionFeatures(cache_dir=cache_dir)


@pytest.fixture(scope="session")
def covers(tmp_path_factory):
    """A 16 px dataset of COVERS structured images with random features."""
    root = tmp_path_factory.mktemp("covers") / "covers-16"
    return write_covers(root, structured_covers(COVERS, RESOLUTION, seed=1), with_features=True)
