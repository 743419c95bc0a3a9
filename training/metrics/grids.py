"""Picture grids for the evaluation outputs (uint8 NHWC in, PIL out), at native resolution,
and the captions that say what a picture shows (Pillow's default font: nothing to install)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

GAP = 2
PAD = 4  # around caption text
INK = (0, 0, 0)
FONT = ImageFont.load_default()


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


def pair_grid(
    left: np.ndarray, right: np.ndarray, pairs_per_row: int = 4, labels: Sequence[str] | None = None
) -> Image.Image:
    """(left | right) pairs, e.g. generated | nearest training cover, with a wider gap between
    pairs; `labels` (one per pair) are written under their pairs."""
    if len(left) != len(right) or not len(left):
        raise ValueError("need equally many images on both sides")
    if labels is not None and len(labels) != len(left):
        raise ValueError("need one label per pair")
    n, side = len(left), left.shape[1]
    rows = -(-n // pairs_per_row)
    pair_w = 2 * side + GAP
    step = pair_w + 4 * GAP
    row_h = side + (line_height() if labels is not None else 0)
    canvas = np.full((rows * row_h + (rows - 1) * GAP, pairs_per_row * step - 4 * GAP, 3), 255, np.uint8)
    for k in range(n):
        r, c = divmod(k, pairs_per_row)
        y, x = r * (row_h + GAP), c * step
        canvas[y : y + side, x : x + side] = left[k]
        canvas[y : y + side, x + side + GAP : x + pair_w] = right[k]
    picture = Image.fromarray(canvas)
    draw = ImageDraw.Draw(picture)
    for k, label in enumerate(labels or ()):
        r, c = divmod(k, pairs_per_row)
        draw.text((c * step, r * (row_h + GAP) + side), label, fill=INK, font=FONT)
    return picture


def text_width(text: str) -> int:
    return int(np.ceil(FONT.getlength(text)))


def line_height() -> int:
    """One line of caption text with its spacing, in pixels."""
    top, bottom = FONT.getbbox("Ag")[1::2]
    return int(bottom - min(top, 0)) + 2


def wrap(text: str, width: int) -> list[str]:
    """Words into lines no wider than `width` pixels where they fit (a long word keeps a line
    of its own); a newline in `text` always starts a line."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        start = len(lines)
        for word in paragraph.split():
            candidate = f"{lines[-1]} {word}" if len(lines) > start else word
            if len(lines) > start and text_width(candidate) <= width:
                lines[-1] = candidate
            else:
                lines.append(word)
    return lines


def with_caption(picture: Image.Image, text: str) -> Image.Image:
    """The picture above a white band holding `text`, wrapped to the picture's width."""
    lines = wrap(text, picture.width - 2 * PAD)
    band = 2 * PAD + len(lines) * line_height()
    out = Image.new("RGB", (picture.width, picture.height + band), "white")
    out.paste(picture.convert("RGB"), (0, 0))
    draw = ImageDraw.Draw(out)
    for i, line in enumerate(lines):
        draw.text((PAD, picture.height + PAD + i * line_height()), line, fill=INK, font=FONT)
    return out
