"""Picture grids for the evaluation outputs (uint8 NHWC in, PIL out), at native resolution."""

from __future__ import annotations

import numpy as np
from PIL import Image

GAP = 2


def image_grid(images: np.ndarray, columns: int) -> Image.Image:
    """Images left to right, top to bottom, on a white background."""
    if not len(images):
        raise ValueError("no images to lay out")
    n, side = len(images), images.shape[1]
    rows = -(-n // columns)
    canvas = np.full((rows * side + (rows - 1) * GAP, columns * side + (columns - 1) * GAP, 3), 255, np.uint8)
    for k in range(n):
        r, c = divmod(k, columns)
        canvas[r * (side + GAP) : r * (side + GAP) + side, c * (side + GAP) : c * (side + GAP) + side] = images[k]
    return Image.fromarray(canvas)


def pair_grid(left: np.ndarray, right: np.ndarray, pairs_per_row: int = 4) -> Image.Image:
    """(left | right) pairs, e.g. generated | nearest training cover, with a wider gap between pairs."""
    if len(left) != len(right) or not len(left):
        raise ValueError("need equally many images on both sides")
    n, side = len(left), left.shape[1]
    rows = -(-n // pairs_per_row)
    pair_w = 2 * side + GAP
    step = pair_w + 4 * GAP
    canvas = np.full((rows * side + (rows - 1) * GAP, pairs_per_row * step - 4 * GAP, 3), 255, np.uint8)
    for k in range(n):
        r, c = divmod(k, pairs_per_row)
        y, x = r * (side + GAP), c * step
        canvas[y : y + side, x : x + side] = left[k]
        canvas[y : y + side, x + side + GAP : x + pair_w] = right[k]
    return Image.fromarray(canvas)
