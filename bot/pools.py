"""Thread pools by kind of blocking work, so that one kind cannot starve another.

Everything used to go through `asyncio.to_thread`, which shares asyncio's default pool
(min(32, cores + 4) threads). With Spotify answering in 9 s, a dozen /cover lookups blocked
in spotipy held all of them, and /random, which needs a thread only to encode its PNG,
waited behind them for seconds. Now blocking I/O (spotipy, the feature providers, model
files) waits in `io`, bounded so that a flood of slow lookups queues instead of spawning
threads; PNG encoding and the features card have `render` to themselves. The models run on
their own thread (ModelRunner), the database on aiosqlite's.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

IO_THREADS = 16  # blocking lookups at once; admitted requests beyond this wait for a thread
RENDER_THREADS = 2  # short CPU work: more threads than a small machine's cores only contend


class WorkPools:
    def __init__(self, *, io_threads: int = IO_THREADS, render_threads: int = RENDER_THREADS) -> None:
        self._io = ThreadPoolExecutor(io_threads, thread_name_prefix="albumgan-io")
        self._render = ThreadPoolExecutor(render_threads, thread_name_prefix="albumgan-render")

    async def io(self, fn: Callable[..., T], /, *args, **kwargs) -> T:
        """`fn(*args, **kwargs)` for blocking I/O: network lookups, reading files."""
        return await asyncio.get_running_loop().run_in_executor(self._io, functools.partial(fn, *args, **kwargs))

    async def render(self, fn: Callable[..., T], /, *args) -> T:
        """`fn(*args)` for the CPU work of an answer: PNG encoding, drawing the card."""
        return await asyncio.get_running_loop().run_in_executor(self._render, functools.partial(fn, *args))

    def close(self) -> None:
        # Not waiting: a thread still blocked in a slow lookup must not hold up shutdown
        # (its request was cancelled or has already been answered).
        for pool in (self._io, self._render):
            pool.shutdown(wait=False, cancel_futures=True)
