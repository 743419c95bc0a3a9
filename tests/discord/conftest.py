"""The real discord.py client of the bot against the loopback fake Discord.

Frontend-only tests pass `tests.stub_service.StubService`; the end-to-end tests in
test_end_to_end.py use the real service.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from albumgan.bot.config import DiscordConfig
from albumgan.bot.discord_app import CoverBotMixin, make_bot
from fakes.discord import FakeDiscord


@pytest.fixture
async def fake_discord() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as fake:
        with fake.patched():
            yield fake


BotStarter = Callable[..., Any]


@pytest.fixture
async def start_bot(fake_discord: FakeDiscord) -> AsyncIterator[BotStarter]:
    """Start bots (a restart is a second call); every one is closed at teardown."""
    running: list[tuple[CoverBotMixin, asyncio.Task]] = []

    async def start(service: Any, *, client_options: dict | None = None, **settings: Any) -> CoverBotMixin:
        shards = settings.pop("shards", 1)
        options = {"guild_ready_timeout": 0, **(client_options or {})}
        bot = make_bot(service, DiscordConfig(**settings), **options)
        task = asyncio.create_task(bot.start(fake_discord.token))  # type: ignore[attr-defined]
        running.append((bot, task))
        before = len(fake_discord.identifies)
        ready = asyncio.ensure_future(fake_discord.wait_for_connections(before + shards))
        await asyncio.wait({ready, task}, return_when=asyncio.FIRST_COMPLETED)
        if task.done():  # the bot died while starting: show why instead of a timeout
            ready.cancel()
            task.result()
        await ready
        await bot.wait_until_ready()  # type: ignore[attr-defined]
        return bot

    yield start
    for bot, task in running:
        await bot.close()  # type: ignore[attr-defined]
        with contextlib.suppress(asyncio.CancelledError):
            await task
