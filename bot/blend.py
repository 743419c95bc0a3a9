"""`/blend A B`: covers along the path from one song to another. Each end is what its own
first cover is made from (a track's or album's features and song seed, or `seed:123` for a
random cover's latent); the frames between interpolate the features linearly (in their raw
units, then encoded for the model) and the latents by slerp (a straight line would pass
through the low-norm middle of the Gaussian, where covers wash out). One generator batch.

Sent as a strip (the frames side by side) and a looping GIF (every chat client animates
GIFs; animated WebP is not everywhere yet). Blends are not stored: they
are made again from their two ends.
"""

from __future__ import annotations

import io
import re
import time
from collections.abc import Sequence

import numpy as np
from PIL import Image

from albumgan.bot.imaging import to_png, upscale
from albumgan.bot.jobs import Job, check_seed, latent_for
from albumgan.bot.types import BlendResult, UserError
from albumgan.modelfile import ModelInfo

FRAMES = 8
STRIP_TILE = 160  # px per frame in the strip
STRIP_GUTTER = 4
ANIMATION_SIZE = 320
FRAME_MS = 140
SEED_END = re.compile(r"\s*seed\s*[:=]\s*([0-9]{1,20})\s*", re.IGNORECASE)
BACKGROUND = (32, 34, 37)
BLEND_HELP = "Blend two songs: `/blend <link A> <link B>`; an end may be a seed, e.g. `seed:123`."


def split_ends(text: str) -> tuple[str, str]:
    """Two ends from one line of chat text (Slack's `/blend A B`)."""
    parts = text.split()
    if len(parts) != 2:
        raise UserError(BLEND_HELP)
    return parts[0], parts[1]


def seed_end(text: str) -> int | None:
    """The seed of a `seed:123` end; None for a link."""
    match = SEED_END.fullmatch(text)
    return None if match is None else check_seed(int(match[1]))


def random_end(seed: int) -> Job:
    return Job(kind="random", title=f"seed {seed}", subtitle="", seed=seed)


def model_kind(ends: Sequence[Job]) -> str:
    """Two random ends: the unconditional model; else the acgan (a random end borrows the
    other end's features, so only its latent differs)."""
    return "unconditional" if all(end.report is None for end in ends) else "acgan"


def slerp(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    """Spherical interpolation from a (t=0) to b (t=1); linear where they are (anti)parallel."""
    cos = float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12))
    omega = float(np.arccos(np.clip(cos, -1.0, 1.0)))
    if omega < 1e-6 or np.pi - omega < 1e-6:
        return ((1.0 - t) * a + t * b).astype(np.float32)
    return ((np.sin((1.0 - t) * omega) * a + np.sin(t * omega) * b) / np.sin(omega)).astype(np.float32)


def lerp_features(a: dict[str, float | None], b: dict[str, float | None], t: float) -> dict[str, float | None]:
    """Raw feature values between two ends; a value one end lacks is the other end's."""
    mixed: dict[str, float | None] = {}
    for name in {**a, **b}:
        x, y = a.get(name), b.get(name)
        mixed[name] = x if y is None else y if x is None else (1.0 - t) * x + t * y
    return mixed


def frame_inputs(ends: Sequence[Job], info: ModelInfo, frames: int = FRAMES) -> tuple[np.ndarray, ...]:
    """The batch of a blend: z rows by slerp, and (for the acgan) labels and mask rows from the
    linearly interpolated features."""
    za, zb = (latent_for(info, end.seed, end.latent_steps) for end in ends)
    ts = np.linspace(0.0, 1.0, frames)
    z = np.stack([slerp(za, zb, float(t)) for t in ts])
    if info.schema is None:
        return (z,)
    values = [end.report.values if end.report is not None else {} for end in ends]
    rows = [info.encode(lerp_features(values[0], values[1], float(t))) for t in ts]
    return z, np.stack([labels for labels, _ in rows]), np.stack([mask for _, mask in rows])


def render(images: np.ndarray, parameters: dict[str, object]) -> tuple[bytes, bytes]:
    """The strip PNG (carrying `parameters`) and a looping GIF that goes there and back."""
    tiles = [upscale(image, STRIP_TILE) for image in images]
    strip = Image.new("RGB", (len(tiles) * (STRIP_TILE + STRIP_GUTTER) - STRIP_GUTTER, STRIP_TILE), BACKGROUND)
    for i, tile in enumerate(tiles):
        strip.paste(tile, (i * (STRIP_TILE + STRIP_GUTTER), 0))
    # A palette per frame by fast octree, no dithering: 40x faster than Pillow's default GIF
    # conversion, and smooth upscaled covers have few colours to lose.
    frames = [
        upscale(image, ANIMATION_SIZE).quantize(255, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
        for image in images
    ]
    frames += frames[-2:0:-1]  # back again, without repeating the ends
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], duration=FRAME_MS, loop=0)
    return to_png(strip, parameters), buffer.getvalue()


def parameters(ends: Sequence[Job], info: ModelInfo) -> dict[str, object]:
    """What a blend was made from, as its strip's PNG text chunks carry it."""
    return {
        "kind": "blend",
        "model": info.name,
        "model_version": info.version,
        "model_sha256": info.sha256,
        "frames": str(FRAMES),
        "ends": [
            {"title": end.title, "kind": end.kind, "ids": list(end.input_ids[:1]), "seed": end.seed} for end in ends
        ],
    }


def result(ends: Sequence[Job], pictures: tuple[bytes, bytes], info: ModelInfo, started: float) -> BlendResult:
    a, b = ends
    return BlendResult(
        title=f"{a.title} → {b.title}",
        subtitle=f"{FRAMES} covers: features blended linearly, latents by slerp (seeds {a.seed} → {b.seed})",
        strip_png=pictures[0],
        animation=pictures[1],
        frames=FRAMES,
        model_name=info.name,
        model_version=info.version,
        elapsed_s=time.perf_counter() - started,
    )
