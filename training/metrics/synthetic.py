"""A synthetic world where the audio features truly determine the cover, to prove the steering
measurement: valence -> hue (red to blue), energy -> brightness, acousticness -> (weaker)
stripes, popularity -> size of a central disc; the latent only adds faint texture. Real
covers of such a dataset and a "model" that draws by the same rule must score high recovered
correlations on those four features and none on the other six.
"""

from __future__ import annotations

import colorsys
from pathlib import Path

import numpy as np

from albumgan.labels import DEFAULT_SCHEMA, LabelSchema
from albumgan.modelfile import ModelInfo
from albumgan.training.data.format import Item, write_dataset

DRIVEN = ("valence", "energy", "acousticness", "popularity")


def _value(labels: np.ndarray, mask: np.ndarray, schema: LabelSchema, name: str) -> float:
    j = schema.names.index(name)
    return float(labels[j]) if mask[j] > 0.5 else 0.0


def draw_cover(
    labels: np.ndarray, mask: np.ndarray, resolution: int, texture_seed: int, schema: LabelSchema = DEFAULT_SCHEMA
) -> np.ndarray:
    unit = {n: (_value(labels, mask, schema, n) + 1.0) / 2.0 for n in DRIVEN}
    rgb = colorsys.hsv_to_rgb(0.7 * unit["valence"], 0.8, 0.25 + 0.7 * unit["energy"])
    image = np.empty((resolution, resolution, 3), np.float32)
    image[:] = np.array(rgb, np.float32) * 255
    yy, xx = np.mgrid[:resolution, :resolution] / resolution - 0.5
    stripes = np.sign(np.sin(yy * resolution * np.pi / 2))[..., None]  # 4-pixel period
    image += 70.0 * (1.0 - unit["acousticness"]) * stripes
    disc = np.hypot(yy, xx) < 0.08 + 0.3 * unit["popularity"]
    image[disc] = 0.5 * image[disc] + 0.5 * 255
    image += np.random.default_rng(texture_seed).normal(0, 10, image.shape)
    return np.clip(image, 0, 255).round().astype(np.uint8)


class SyntheticSampler:
    """A conditional "model" that draws covers by the synthetic rule (z seeds the texture)."""

    def __init__(self, resolution: int = 32, schema: LabelSchema = DEFAULT_SCHEMA):
        self.schema = schema
        self.info = ModelInfo(
            kind="acgan",
            format="synthetic",
            resolution=resolution,
            z_dim=8,
            latent_prior="normal",
            schema=schema,
            step=0,
            name="synthetic-rule",
        )

    def generate(self, z, labels=None, mask=None):
        seeds = [int.from_bytes(row.astype(np.float32).tobytes()[:8], "little") for row in z]
        return np.stack(
            [draw_cover(labels[k], mask[k], self.info.resolution, seeds[k], self.schema) for k in range(len(z))]
        )


def write_synthetic_dataset(
    out: str | Path, count: int, resolution: int = 32, seed: int = 0, schema: LabelSchema = DEFAULT_SCHEMA
) -> Path:
    """`count` covers with every feature drawn uniformly and present, drawn by the rule."""
    rng = np.random.default_rng(seed)
    labels = rng.uniform(-1.0, 1.0, (count, len(schema))).astype(np.float32)
    mask = np.ones_like(labels)
    items = [
        Item(
            id=f"synthetic-{k:05d}",
            features=schema.decode(labels[k]),
            feature_sources=dict.fromkeys(schema.names, "synthetic"),
        )
        for k in range(count)
    ]
    images = (draw_cover(labels[k], mask[k], resolution, seed * 1_000_003 + k, schema) for k in range(count))
    return write_dataset(
        out, items, {resolution: images}, schema=schema, provenance={"source": "synthetic steering check"}
    )
