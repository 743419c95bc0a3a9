"""Running the bot for real (issue #16): /healthz and /metrics over HTTP, JSON logs, shards."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

OPS_LOGGER = "albumgan.bot.ops_server"


class AddressWatcher(logging.Handler):
    """Resolves `address` with (host, port) when the ops server logs where it listens (it
    may have been asked for port 0)."""

    def __init__(self) -> None:
        super().__init__()
        self.address: asyncio.Future[tuple[str, int]] = asyncio.get_running_loop().create_future()

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("health and metrics on") and not self.address.done():
            self.address.set_result(record.args)  # type: ignore[arg-type]


@pytest.fixture
async def ops_address(request) -> AsyncIterator[asyncio.Future[tuple[str, int]]]:
    watcher = AddressWatcher()
    logger = logging.getLogger(OPS_LOGGER)
    logger.addHandler(watcher)
    level = logger.level
    logger.setLevel(logging.INFO)
    yield watcher.address
    logger.removeHandler(watcher)
    logger.setLevel(level)


async def wait_healthy(http: aiohttp.ClientSession, base: str, timeout: float = 60.0) -> dict[str, Any]:
    """/healthz once it answers 200 (frontends connect after the server starts)."""
    async with asyncio.timeout(timeout):
        while True:
            async with http.get(f"{base}/healthz") as answer:
                if answer.status == 200:
                    return await answer.json()
            await asyncio.sleep(0.1)


async def scrape(http: aiohttp.ClientSession, base: str) -> dict[tuple[str, frozenset], float]:
    """/metrics parsed: (sample name, labels) -> value."""
    async with http.get(f"{base}/metrics") as answer:
        assert answer.status == 200 and answer.headers["Content-Type"].startswith("text/plain")
        text = await answer.text()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def sample(samples: dict[tuple[str, frozenset], float], name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]
