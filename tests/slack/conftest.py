"""The real slack-bolt app of the bot against the loopback fake Slack.

Frontend-only tests use the Discord tests' `StubService` (the service's API, canned PNGs);
test_end_to_end.py uses the real service with the shared tiny models and fake Spotify (tests/service_fixtures.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from albumgan.bot.config import SlackConfig
from albumgan.bot.slack_app import SlackFrontend
from fakes.slack import FakeSlack


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake


FrontendStarter = Callable[..., Any]


@pytest.fixture
async def start_slack(fake_slack: FakeSlack) -> AsyncIterator[FrontendStarter]:
    """Start frontends (a restart is a second call); every one is closed at teardown."""
    running: list[SlackFrontend] = []

    async def start(service: Any, *, ping_interval_s: float = 10.0, **settings: Any) -> SlackFrontend:
        if settings.get("mode") == "http":
            settings = {"http_host": "127.0.0.1", "http_port": 0, **settings}
        config = SlackConfig(api_base=fake_slack.api_base, **settings)
        frontend = SlackFrontend(
            service,
            config,
            bot_token=fake_slack.bot_token,
            app_token=fake_slack.app_token,
            signing_secret=fake_slack.signing_secret,
            ping_interval_s=ping_interval_s,
        )
        running.append(frontend)
        before = fake_slack.connections
        await frontend.start()
        if config.mode == "socket":
            await fake_slack.wait_connected(before + 1)
        return frontend

    yield start
    for frontend in running:
        await frontend.close()
