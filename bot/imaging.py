"""Display helpers for generator output: upscale and encode. Torch-free.

The generators make 64 or 128 px covers; chat clients show 256+ px. Upscaling is a plain
Lanczos resample (a windowed-sinc filter, 3 lobes, on the sRGB values): smooth edges
without the blockiness of nearest-neighbour or the blur of bilinear, and no invented
detail. A "super-resolution" network would add texture the generator never made, so the
picture shown would no longer be the model's output.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping

import numpy as np
from PIL import Image
from PIL.PngImagePlugin import PngInfo

DISPLAY_SIZE = 512
RESAMPLE = Image.Resampling.LANCZOS


def upscale(image: np.ndarray, size: int = DISPLAY_SIZE) -> Image.Image:
    """uint8 (H, W, 3) RGB -> a PIL RGB image `size` x `size` (Lanczos; unchanged if the
    image already has that size)."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(
            f"expected a uint8 (H, W, 3) array, got {getattr(image, 'dtype', type(image).__name__)} "
            f"{getattr(image, 'shape', '')}"
        )
    if size < 1:
        raise ValueError(f"size must be >= 1, got {size}")
    picture = Image.fromarray(np.ascontiguousarray(image))
    if picture.size == (size, size):
        return picture
    return picture.resize((size, size), resample=RESAMPLE)


def to_png(picture: Image.Image, parameters: Mapping[str, object] | None = None, *, compress_level: int = 1) -> bytes:
    """PNG bytes, carrying `parameters` as text chunks (`png_text`); the same picture and
    parameters always give the same bytes (no timestamps)."""
    buffer = io.BytesIO()
    # Level 1: half the CPU of level 6 for ~10% more bytes on an upscaled cover; encoding
    # is most of a cover's cost in the bot (benchmarks/bot_load.py).
    picture.save(
        buffer, format="PNG", optimize=False, compress_level=compress_level, pnginfo=png_text(parameters or {})
    )
    return buffer.getvalue()


# What a cover was made from travels inside its PNG, so a file saved from chat still says
# which model, seed and features made it (`read_png_text`, or any PNG metadata viewer).
TEXT_PREFIX = "albumgan."


def png_text(parameters: Mapping[str, object]) -> PngInfo:
    """PNG text chunks: a Software tEXt chunk, then one iTXt chunk (UTF-8: track names in
    any script) per parameter, keyed `albumgan.<name>`; non-strings as compact JSON."""
    info = PngInfo()
    if not parameters:
        return info
    info.add_text("Software", "AlbumGAN")
    for name, value in parameters.items():
        text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, separators=(",", ":"))
        info.add_itxt(TEXT_PREFIX + name, text)
    return info


def read_png_text(data: bytes) -> dict[str, str]:
    """The `albumgan.*` text chunks of a PNG, by name without the prefix."""
    with Image.open(io.BytesIO(data)) as picture:
        picture.load()
        chunks = dict(getattr(picture, "text", {}))
    return {key.removeprefix(TEXT_PREFIX): str(value) for key, value in chunks.items() if key.startswith(TEXT_PREFIX)}
