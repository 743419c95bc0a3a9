"""Checks shared by the grid tests of the service, Discord and Slack: a grid's tiles, and
what a cover's PNG says about itself."""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import AsyncIterator

from albumgan.bot.config import BotConfig
from albumgan.bot.grids import CANDIDATES, GUTTER, tile_origin
from albumgan.bot.imaging import read_png_text
from albumgan.bot.service import CoverService
from tests.service_fixtures import SPOTIFY_SECRETS
from tests.stub_service import decoded, pixels

TILE = 256  # a grid's tiles at the default display size (512)
GRID = 2 * TILE + GUTTER


def tiles(grid_png: bytes, size: int = TILE) -> list[bytes]:
    """The RGB pixels of each candidate of a grid of `size` px tiles, in reading order."""
    grid = decoded(grid_png).convert("RGB")
    boxes = [(*tile_origin(i, size), *(c + size for c in tile_origin(i, size))) for i in range(CANDIDATES)]
    return [grid.crop(box).tobytes() for box in boxes]


def grid_seeds(grid_png: bytes) -> list[int]:
    """The candidates' seeds, as the grid's PNG text chunks carry them."""
    return [int(seed) for seed in json.loads(read_png_text(grid_png)["seed"])]


@contextlib.asynccontextmanager
async def tile_sized(config: BotConfig) -> AsyncIterator[CoverService]:
    """Another service on the same models and database whose single covers are the size of
    a grid's tiles, to compare them pixel for pixel."""
    models = dataclasses.replace(config.models, display_size=config.models.display_size // 2)
    async with CoverService.from_config(dataclasses.replace(config, models=models), secrets=SPOTIFY_SECRETS) as small:
        yield small


def assert_grid_of_singles(grid_png: bytes, singles: list[bytes]) -> None:
    """The grid's four covers are the four single covers (made at the tiles' size), pixel for pixel."""
    assert decoded(grid_png).size == (GRID, GRID)
    assert tiles(grid_png) == [pixels(png) for png in singles]
    assert len(set(tiles(grid_png))) == CANDIDATES  # four different covers
