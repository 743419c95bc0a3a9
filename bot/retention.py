"""How long the bot keeps what it stores ([storage] in bot.toml, docs/PRIVACY.md).

Covers (the history rows behind their buttons) are deleted when older than `history_days`;
cached Spotify metadata and features when older than `[features] cache_ttl_s`, after
which a lookup would fetch them again anyway, and beyond `cache_max_rows` per cache.
Pruning runs when the service starts and then every `prune_interval_s`; `albumgan prune`
runs it by hand. A person's own covers go at their request (`CoverService.forget`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from dataclasses import dataclass

from albumgan.bot.config import BotConfig
from albumgan.bot.db import Database

log = logging.getLogger(__name__)

DAY_S = 24 * 3600.0


@dataclass(frozen=True)
class Pruned:
    covers: int
    cache_entries: int


async def prune(db: Database, config: BotConfig, now: float | None = None) -> Pruned:
    """Delete what is past its keeping time now; what was deleted."""
    now = time.time() if now is None else now
    storage = config.storage
    covers = 0
    if storage.history_days > 0:
        covers = await db.delete_generations_before(now - storage.history_days * DAY_S)
    cache_entries = await db.prune_caches(now - config.features.cache_ttl_s, storage.cache_max_rows)
    if covers or cache_entries:
        log.info("pruned %d covers and %d cache entries", covers, cache_entries)
    return Pruned(covers, cache_entries)


class Pruner:
    """Prunes once at start, then every `[storage] prune_interval_s` until closed. A failed
    run (the database locked past its timeout, say) is logged; the next one tries again."""

    def __init__(self, config: BotConfig) -> None:
        self.config = config
        self._task: asyncio.Task | None = None

    async def start(self, db: Database) -> None:
        await self._prune_logged(db)
        self._task = asyncio.create_task(self._every_interval(db), name="albumgan-prune")

    async def close(self) -> None:
        """Stop the periodic runs (a no-op when never started)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _every_interval(self, db: Database) -> None:
        while True:
            await asyncio.sleep(self.config.storage.prune_interval_s)
            await self._prune_logged(db)

    async def _prune_logged(self, db: Database) -> None:
        try:
            await prune(db, self.config)
        except sqlite3.OperationalError as exc:
            log.warning("pruning old covers and cache entries failed (%s); retrying later", exc)
