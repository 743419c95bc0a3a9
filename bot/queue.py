"""One bounded, fair request queue shared by every frontend.

A request is admitted first (`admitted`): a per-user cooldown and a per-user cap stop
floods, and a full queue says "busy" instead of growing without bound; it counts against
those limits until it is done. It holds one of the `workers` generation slots (`slot`) only
while it generates, so covers whose lookups wait on a slow Spotify never keep /random from
a slot. Slots wait per user; a free one goes to the next user in round-robin order, so one
person's burst of ten covers cannot push everyone else to the back. Everything runs in the
caller's own task, so exceptions and cancellation reach the caller directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import TypeVar

from albumgan.bot.types import ServiceUnavailable, UserError

log = logging.getLogger(__name__)

T = TypeVar("T")
OnQueued = Callable[[int], Awaitable[None]]


class Refusal(Exception):
    """A request turned away by a limit before it started; `reason` names the limit (metrics,
    logs). Each refusal is also a UserError (the person's to change) or a ServiceUnavailable."""

    reason = ""


class TooSoon(Refusal, UserError):
    reason = "cooldown"


class TooMany(Refusal, UserError):
    reason = "per_user_cap"


class QueueFull(Refusal, ServiceUnavailable):
    reason = "queue_full"


class Closing(Refusal, ServiceUnavailable):
    reason = "closing"


REFUSAL_REASONS = tuple(kind.reason for kind in (TooSoon, TooMany, QueueFull, Closing))


@dataclass(eq=False)
class _Waiter:
    user: Hashable
    granted: asyncio.Future = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class FairQueue:
    def __init__(
        self,
        *,
        max_size: int,
        per_user: int,
        cooldown_s: float,
        workers: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_size = max_size
        self.per_user = per_user
        self.cooldown_s = cooldown_s
        self.workers = workers
        self._clock = clock
        self._waiting: OrderedDict[Hashable, deque[_Waiter]] = OrderedDict()  # rotation order
        self._running = 0  # slots held
        self._admitted = 0  # requests admitted and not yet done: looking up, waiting or running
        self._per_user: dict[Hashable, int] = {}  # admitted, by user
        self._last_start: dict[Hashable, float] = {}
        self._closing = False
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def waiting(self) -> int:
        return sum(len(q) for q in self._waiting.values())

    @property
    def running(self) -> int:
        return self._running

    @property
    def admitted_count(self) -> int:
        """Requests in progress: looking up, waiting for a slot or generating."""
        return self._admitted

    async def run(self, user: Hashable, job: Callable[[], Awaitable[T]], on_queued: OnQueued | None = None) -> T:
        """Admit, wait for a fair turn, run `job()` and return its result."""
        async with self.admitted(user), self.slot(user, on_queued):
            return await job()

    @contextlib.asynccontextmanager
    async def admitted(self, user: Hashable) -> AsyncIterator[None]:
        """Count one request of `user` against the limits for as long as the block runs;
        UserError or ServiceUnavailable when it may not start."""
        self._admit(user)
        self._admitted += 1
        self._per_user[user] = self._per_user.get(user, 0) + 1
        self._idle.clear()
        try:
            yield
        finally:
            self._admitted -= 1
            self._per_user[user] -= 1
            if not self._per_user[user]:
                del self._per_user[user]
            if not self._per_user:
                self._idle.set()

    @contextlib.asynccontextmanager
    async def slot(self, user: Hashable, on_queued: OnQueued | None = None) -> AsyncIterator[None]:
        """Hold a generation slot for the block, after a fair turn; `on_queued(position)`
        when the turn has to be waited for. Only inside `admitted(user)`."""
        if self._running < self.workers and not self._waiting:
            self._running += 1
        else:
            await self._wait_for_turn(user, on_queued)
        try:
            yield
        finally:
            self._running -= 1
            self._dispatch()

    async def close(self) -> None:
        """Refuse new requests and wait until admitted ones have finished."""
        self._closing = True
        await self._idle.wait()

    def _admit(self, user: Hashable) -> None:
        if self._closing:
            raise Closing("The bot is restarting; try again in a minute.")
        now = self._clock()
        last = self._last_start.get(user)
        if last is not None and now - last < self.cooldown_s:
            wait = math.ceil(self.cooldown_s - (now - last))
            raise TooSoon(f"Easy there: you can ask again in {wait} s.")
        if self._per_user.get(user, 0) >= self.per_user:
            raise TooMany(f"You already have {self.per_user} covers on the way; wait for one to finish.")
        if self._admitted >= self.max_size:
            raise QueueFull(f"I'm busy right now ({self.max_size} covers in line); try again in a minute.")
        self._last_start[user] = now
        self._forget_old_cooldowns(now)

    async def _wait_for_turn(self, user: Hashable, on_queued: OnQueued | None) -> None:
        waiter = _Waiter(user)
        self._waiting.setdefault(user, deque()).append(waiter)
        self._dispatch()
        try:
            if not waiter.granted.done() and on_queued is not None:
                await self._tell_position(on_queued, self._position(waiter))
            await waiter.granted
        except BaseException:
            if waiter.granted.done() and not waiter.granted.cancelled():
                # the slot was handed to us as we were cancelled: pass it on
                self._running -= 1
                self._dispatch()
            else:
                self._remove(waiter)
            raise

    @staticmethod
    async def _tell_position(on_queued: OnQueued, position: int) -> None:
        try:
            await on_queued(position)
        except Exception:
            # a frontend that cannot show the position must not lose the request
            log.warning("on_queued callback failed", exc_info=True)

    def _dispatch(self) -> None:
        while self._running < self.workers and self._waiting:
            user, queue = next(iter(self._waiting.items()))
            waiter = queue.popleft()
            if queue:
                self._waiting.move_to_end(user)
            else:
                del self._waiting[user]
            self._running += 1
            waiter.granted.set_result(None)

    def _position(self, waiter: _Waiter) -> int:
        """1-based place in the order that _dispatch would hand out slots."""
        queues = [list(q) for q in self._waiting.values()]
        position, depth = 0, 0
        while True:
            for q in queues:
                if depth < len(q):
                    position += 1
                    if q[depth] is waiter:
                        return position
            depth += 1

    def _remove(self, waiter: _Waiter) -> None:
        queue = self._waiting.get(waiter.user)
        if queue is None or waiter not in queue:
            return
        queue.remove(waiter)
        if not queue:
            del self._waiting[waiter.user]

    def _forget_old_cooldowns(self, now: float) -> None:
        if len(self._last_start) > 10_000:
            self._last_start = {u: t for u, t in self._last_start.items() if now - t < self.cooldown_s}
