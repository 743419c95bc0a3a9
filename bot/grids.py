"""Answers of one or four covers: people like to choose, so a command answers with a 2x2
grid of candidates (four latents, one generator batch; the grid as wide as a single cover,
its tiles half the display size) unless the server chose single covers. Each candidate is
a history row of its own, so Pick (its re-make, with the features card) and Vary (four
variations around it) work on it alone, after restarts too.

No I/O here: the service decides where each step runs (rendering in its pools' threads).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import numpy as np
from PIL import Image

from albumgan.bot.db import LatentStep
from albumgan.bot.imaging import to_png, upscale
from albumgan.bot.jobs import Job, check_seed
from albumgan.bot.types import SERVER_LAYOUT, Candidate, CoverResult
from albumgan.latent import SEED_LIMIT
from albumgan.modelfile import ModelInfo

SINGLE, GRID, SERVER = "single", "grid", SERVER_LAYOUT
LAYOUTS = (SINGLE, GRID)
LAYOUT_SETTING = "layout"  # per-server (guild or Slack team) setting: "grid" (the default) or "single"
DEFAULT_LAYOUT = GRID
CANDIDATES = 4
# The Full size button's side: large prints and wallpapers. The generator makes 64 px covers;
# this is a Lanczos enlargement of them (imaging.py), not new detail.
FULL_SIZE = 3000
ENLARGED = (
    "Enlarged from the model's {px} px with a Lanczos filter: smoother, not more detailed. "
    "What made it (model, seed, features) is inside the PNG."
)
GUTTER = 8  # px between the tiles of a grid
GRID_BACKGROUND = (32, 34, 37)

# A base job and a count -> the jobs of one answer.
Spread = Callable[[Job, int], list[Job]]


async def candidate_count(layout: str, read_setting: Callable[[str, Any], Awaitable[Any]]) -> int:
    """How many covers an answer shows: 1 or CANDIDATES ("server": that server's setting)."""
    if layout == SERVER:
        layout = await read_setting(LAYOUT_SETTING, DEFAULT_LAYOUT)
        if layout not in LAYOUTS:  # a setting from a newer version, say: the default
            layout = DEFAULT_LAYOUT
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; expected one of {(*LAYOUTS, SERVER)}")
    return CANDIDATES if layout == GRID else 1


def reseeded(job: Job, count: int) -> list[Job]:
    """`count` covers from the same inputs: the job's seed, then the next seeds (so a grid's
    covers are the single covers of those seeds)."""
    jobs = []
    for i in range(count):
        seed = (job.seed + i) % SEED_LIMIT
        subtitle = f"seed {seed}" if job.kind == "random" else job.subtitle
        jobs.append(dataclasses.replace(job, seed=seed, subtitle=subtitle))
    return jobs


def varied(strength: float) -> Spread:
    """`count` variations around a job: each a fresh perturbation step on top of its own."""

    def spread(job: Job, count: int) -> list[Job]:
        return [
            dataclasses.replace(job, latent_steps=(*job.latent_steps, LatentStep(check_seed(None), strength)))
            for _ in range(count)
        ]

    return spread


def model_inputs(jobs: Sequence[Job], info: ModelInfo) -> tuple[np.ndarray, ...]:
    """The jobs' rows stacked into one batch, as ModelRunner.generate_rows takes them."""
    rows = [job.model_inputs(info) for job in jobs]
    return tuple(np.stack(column) for column in zip(*rows, strict=True))


def tile_origin(index: int, size: int) -> tuple[int, int]:
    """Where candidate `index` (reading order) starts in a grid of `size` px tiles."""
    return (index % 2) * (size + GUTTER), (index // 2) * (size + GUTTER)


def grid_side(size: int) -> int:
    return 2 * size + GUTTER


def compose(pictures: Sequence[Image.Image]) -> Image.Image:
    """Up to four equal square pictures in a 2x2 grid, unchanged (no labels drawn on them)."""
    size = pictures[0].width
    grid = Image.new("RGB", (grid_side(size), grid_side(size)), GRID_BACKGROUND)
    for index, picture in enumerate(pictures):
        grid.paste(picture, tile_origin(index, size))
    return grid


def render(
    jobs: Sequence[Job], images: np.ndarray, ids: Sequence[int | None], info: ModelInfo, display_size: int
) -> tuple[bytes, bytes | None]:
    """The answer's picture (a single cover, or the grid) with its parameters embedded, and
    the features card (the same inputs for every candidate: one card). Blocking."""
    # A grid is as wide as a single cover (chat clients show ~400-550 px anyway): its four
    # tiles are half the size, so it costs about what one cover does to encode and send.
    tile = display_size if len(jobs) == 1 else display_size // 2
    pictures = [upscale(image, tile) for image in images]
    parameters = [job.parameters(info, generation_id) for job, generation_id in zip(jobs, ids, strict=True)]
    if display_size == FULL_SIZE:  # no card; 2-10 MB at level 1 (level 6: 3x the CPU for 20% less)
        return to_png(pictures[0], {**parameters[0], "enlarged": f"{images.shape[1]} px to {FULL_SIZE} px"}), None
    if len(jobs) == 1:
        return to_png(pictures[0], parameters[0]), jobs[0].card(parameters[0])
    shared = dict(parameters[0])
    for key in ("cover_id", "seed", "latent_steps"):
        shared[key] = [p[key] for p in parameters]  # one per candidate, in reading order
    return to_png(compose(pictures), shared), jobs[0].card(shared)


def result(
    jobs: Sequence[Job],
    ids: Sequence[int | None],
    pngs: tuple[bytes, bytes | None],
    info: ModelInfo,
    started: float,
    source_url: str,
    size: int | None = None,
) -> CoverResult:
    first = jobs[0]
    candidates: tuple[Candidate, ...] = ()
    subtitle = first.shown_subtitle
    if len(jobs) > 1:
        candidates = tuple(
            Candidate(generation_id, job.seed, job.shown_subtitle) for job, generation_id in zip(jobs, ids, strict=True)
        )
        if first.kind == "random":
            subtitle = "seeds " + ", ".join(str(job.seed) for job in jobs)
    return CoverResult(
        generation_id=ids[0],
        kind=first.kind,
        title=first.title,
        subtitle=subtitle,
        image_png=pngs[0],
        card_png=pngs[1],
        seed=first.seed,
        model_name=info.name,
        model_version=info.version,
        features=first.report,
        source_url=source_url,
        elapsed_s=time.perf_counter() - started,
        candidates=candidates,
        enlarged_from=info.resolution if size == FULL_SIZE else 0,
    )
