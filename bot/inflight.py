"""A frontend's running requests, counted so that shutdown finishes them instead of
dropping them: once draining starts new work is refused, and `drain` waits (up to a
timeout) for the rest before closing what the frontend uses. Shared by Discord and Slack."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator

log = logging.getLogger(__name__)

DRAIN_TIMEOUT_S = 60.0


class InFlight:
    def __init__(self, what: str) -> None:
        self.what = what  # "interactions", "Slack requests": for the shutdown log line
        self.count = 0
        self.draining = False
        self._idle = asyncio.Event()
        self._idle.set()
        self._drained: asyncio.Future | None = None

    @contextlib.contextmanager
    def tracked(self) -> Iterator[None]:
        self.count += 1
        self._idle.clear()
        try:
            yield
        finally:
            self.count -= 1
            if self.count == 0:
                self._idle.set()

    async def drain(self, then: Callable[[], Awaitable[None]] | None = None, timeout: float = DRAIN_TIMEOUT_S) -> None:
        """Refuse new work, let running requests finish, then `then()` once (if given).
        Idempotent: every caller waits for the same drain."""
        self.draining = True
        if self._drained is None:
            self._drained = asyncio.ensure_future(self._drain(then, timeout))
        await asyncio.shield(self._drained)

    async def _drain(self, then: Callable[[], Awaitable[None]] | None, timeout: float) -> None:
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            log.warning("shutdown: %d %s still running after %.0f s", self.count, self.what, timeout)
        if then is not None:
            await then()
