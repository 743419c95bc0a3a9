"""What the evaluation samples from: a training checkpoint or an exported ONNX file, behind one
small interface, so every metric sees the same uint8 NHWC covers the bot would show.

`plan_generation` fixes the whole sample up front (one seed per image, and for a conditional
model one label row per image drawn from the dataset), so any image can be re-made later
(closest-pair grids) without holding thousands of images in memory.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

import numpy as np
from PIL import Image

from albumgan.latent import latents_from_seeds
from albumgan.modelfile import (
    INPUT_LABELS,
    INPUT_MASK,
    INPUT_Z,
    OUTPUT_IMAGE,
    ModelError,
    ModelInfo,
    describe_session,
)

SEED_STRIDE = 1 << 32  # seed k's images use latent seeds k * 2^32 + i: runs with other seeds never overlap


class ModelLoadError(ValueError):
    """A model path that is missing, corrupt or not an albumgan generator."""


class Sampler(Protocol):
    info: ModelInfo

    def generate(self, z: np.ndarray, labels: np.ndarray | None = None, mask: np.ndarray | None = None) -> np.ndarray:
        """uint8 (n, res, res, 3) RGB for float32 z (n, z_dim) and, if conditional, labels/mask (n, c)."""


class CheckpointSampler:
    def __init__(self, path: Path):
        import torch

        from albumgan.training.checkpoint import CheckpointError, load_generator
        from albumgan.training.networks import to_uint8_nhwc

        try:
            self._generator, self.info = load_generator(path)
        except CheckpointError as exc:
            raise ModelLoadError(str(exc)) from exc
        self._torch = torch
        self._to_uint8 = to_uint8_nhwc

    def generate(self, z, labels=None, mask=None):
        torch = self._torch
        with torch.inference_mode():
            cond = {} if labels is None else {"labels": torch.from_numpy(labels), "mask": torch.from_numpy(mask)}
            images = self._generator(torch.from_numpy(np.ascontiguousarray(z, np.float32)), **cond)
            return self._to_uint8(images).numpy()


class OnnxSampler:
    """An exported model run with onnxruntime directly (training never imports the bot),
    validated by the same model-file contract the bot's engine uses."""

    def __init__(self, path: Path):
        import onnxruntime as ort

        try:
            self._session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        except Exception as exc:  # ORT raises many types for files that are not models
            raise ModelLoadError(f"{path}: not a loadable ONNX model ({type(exc).__name__})") from exc
        try:
            info = describe_session(self._session, str(path))
        except ModelError as exc:
            raise ModelLoadError(str(exc)) from exc
        self.info = replace(info, path=path, name=f"{info.name} v{info.version}")

    def generate(self, z, labels=None, mask=None):
        feed = {INPUT_Z: np.ascontiguousarray(z, np.float32)}
        if labels is not None:
            feed |= {
                INPUT_LABELS: np.ascontiguousarray(labels, np.float32),
                INPUT_MASK: np.ascontiguousarray(mask, np.float32),
            }
        return self._session.run([OUTPUT_IMAGE], feed)[0]


class ResizedSampler:
    """Another sampler's covers resized (bilinear; antialiased when shrinking) to `resolution`, so
    models of different sizes can be scored on one protocol: a 64 px model on the 128 px one
    is judged as its covers would look shown at 128 px."""

    def __init__(self, sampler: Sampler, resolution: int):
        self._sampler, self.native_resolution = sampler, sampler.info.resolution
        self.info = replace(sampler.info, resolution=resolution)

    def generate(self, z, labels=None, mask=None):
        size = (self.info.resolution, self.info.resolution)
        images = self._sampler.generate(z, labels, mask)
        return np.stack([np.asarray(Image.fromarray(im).resize(size, Image.Resampling.BILINEAR)) for im in images])


def open_sampler(path: str | os.PathLike) -> Sampler:
    """An ONNX file (`.onnx`), or a checkpoint: a `.pt` file, a run directory or its `latest`
    pointer; ModelLoadError with one line otherwise."""
    path = Path(path)
    if path.is_dir() or path.name == "latest":
        return CheckpointSampler(path)
    if not path.is_file():
        raise ModelLoadError(f"model {path} does not exist")
    if path.suffix == ".onnx":
        return OnnxSampler(path)
    return CheckpointSampler(path)


@dataclass(frozen=True)
class GenerationPlan:
    seeds: np.ndarray  # (n,) latent seeds
    labels: np.ndarray | None  # (n, c) requested condition rows, conditional models only
    mask: np.ndarray | None
    rows: np.ndarray | None = None  # (n,) which label row each condition was drawn from

    def __len__(self) -> int:
        return len(self.seeds)


def plan_generation(
    info: ModelInfo, n: int, seed: int, label_rows: tuple[np.ndarray, np.ndarray] | None = None
) -> GenerationPlan:
    """`n` images; a conditional model gets label rows drawn (with replacement) from `label_rows`,
    the dataset's encoded (labels, mask), so conditions follow the data's joint distribution."""
    if n < 1:
        raise ValueError("the number of generated images must be at least 1")
    seeds = np.arange(n, dtype=np.int64) + seed * SEED_STRIDE
    if not info.conditional or info.schema is None:  # an acgan file always has a schema (modelfile)
        return GenerationPlan(seeds, None, None)
    if label_rows is None or not len(label_rows[0]):
        raise ValueError("a conditional model needs dataset label rows to sample conditions from")
    labels, mask = label_rows
    if labels.shape[1] != len(info.schema):
        raise ValueError(f"the dataset has {labels.shape[1]} features, the model {len(info.schema)}")
    rows = np.random.default_rng(seed).integers(0, len(labels), n)
    return GenerationPlan(seeds, labels[rows].astype(np.float32), mask[rows].astype(np.float32), rows)


def generate_batches(
    sampler: Sampler, plan: GenerationPlan, batch_size: int = 32, indices: np.ndarray | None = None
) -> Iterator[np.ndarray]:
    """uint8 NHWC batches of the plan's images (all, or those at `indices`, in that order)."""
    indices = np.arange(len(plan)) if indices is None else np.asarray(indices)
    info = sampler.info
    for start in range(0, len(indices), batch_size):
        rows = indices[start : start + batch_size]
        z = latents_from_seeds([int(s) for s in plan.seeds[rows]], info.z_dim, info.latent_prior)
        if plan.labels is None or plan.mask is None:
            yield sampler.generate(z)
        else:
            yield sampler.generate(z, plan.labels[rows], plan.mask[rows])
