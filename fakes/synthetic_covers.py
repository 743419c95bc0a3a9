"""Small structured datasets for tests: features determine the picture.

valence sets the hue of the background, energy its brightness, and every image has a disc
of the complementary colour at a random place (structure, not noise). Some items lack
energy (mask 0) so the missing-feature path is exercised.
"""

from __future__ import annotations

import colorsys
from pathlib import Path

import numpy as np

from albumgan.training.data.format import Item, write_dataset


def cover(res: int, valence: float, energy: float, rng: np.random.Generator) -> np.ndarray:
    hue = 0.7 * valence
    background = np.array(colorsys.hsv_to_rgb(hue, 0.9, 0.35 + 0.6 * energy))
    disc = np.array(colorsys.hsv_to_rgb((hue + 0.5) % 1.0, 0.8, 0.9))
    yy, xx = np.mgrid[0:res, 0:res] / res
    cy, cx, radius = rng.uniform(0.25, 0.75), rng.uniform(0.25, 0.75), rng.uniform(0.12, 0.25)
    inside = ((yy - cy) ** 2 + (xx - cx) ** 2) < radius**2
    image = np.where(inside[..., None], disc, background)
    return (image * 255).round().astype(np.uint8)


def make_dataset(root: Path, n: int = 48, resolutions=(16, 32), seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    valence = rng.uniform(0, 1, n)
    energy = rng.uniform(0, 1, n)
    has_energy = rng.uniform(0, 1, n) > 0.25
    items = [
        Item(
            id=f"track{i:04d}",
            track_name=f"Song {i}",
            features={"valence": float(valence[i]), "energy": float(energy[i]) if has_energy[i] else None},
            feature_sources={"valence": "synthetic", "energy": "synthetic"},
        )
        for i in range(n)
    ]
    images = {}
    for res in resolutions:
        image_rng = np.random.default_rng(seed + 1)
        images[res] = [cover(res, valence[i], energy[i], image_rng) for i in range(n)]
    return write_dataset(root, items, images, provenance={"source": "synthetic test covers"})
