"""Tiny real checkpoints (training's Generator and checkpoint format) and their exports."""

from __future__ import annotations

import pytest
import torch

from albumgan.labels import DEFAULT_SCHEMA
from albumgan.training.architectures import network_state
from albumgan.training.checkpoint import FORMAT, VERSION, save_checkpoint
from albumgan.training.networks import Generator

Z_DIM = 16
RESOLUTION = 16
WIDTH = 8


def make_checkpoint(path, kind: str, *, seed: int = 0, step: int = 120, prior: str = "normal"):
    """A checkpoint in training's format with a randomly initialised tiny generator, its
    EMA a different set of weights (so tests can tell which one was exported)."""
    torch.manual_seed(seed)
    c_dim = len(DEFAULT_SCHEMA) if kind == "acgan" else 0
    generator = Generator(z_dim=Z_DIM, resolution=RESOLUTION, width=WIDTH, c_dim=c_dim)
    ema = Generator(z_dim=Z_DIM, resolution=RESOLUTION, width=WIDTH, c_dim=c_dim)
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "kind": kind,
        "step": step,
        "generator": network_state(generator),
        "generator_ema": network_state(ema),
        "meta": {
            "latent_prior": prior,
            "label_schema": DEFAULT_SCHEMA.to_dict() if kind == "acgan" else None,
            "dataset": {
                "content_hash": f"hash-{kind}-{seed}",
                "count": 321,
                "provenance": {"source": "synthetic test covers", "seed": seed},
            },
            "config": {"lr": 2e-4, "batch_size": 8},
            "created": "2026-11-25T12:00:00+00:00",
        },
    }
    return save_checkpoint(path, payload)


@pytest.fixture(scope="session")
def exported(tmp_path_factory):
    """One export per kind, shared by the read-only tests: {kind: (checkpoint, model path)}."""
    from albumgan.export.onnx_export import export_checkpoint

    root = tmp_path_factory.mktemp("exported")
    models = {}
    for kind in ("unconditional", "acgan"):
        ckpt = make_checkpoint(root / f"{kind}.pt", kind, seed=1 if kind == "acgan" else 0)
        results = export_checkpoint(ckpt, root / "models" / f"{kind}.onnx", eval_figures={"fid": 123.4})
        models[kind] = (ckpt, results[0])
    return models
