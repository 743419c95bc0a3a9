"""The composition root of a running bot: `albumgan serve [--discord] [--slack]`.

One `CoverService` is opened here with `async with` (database, models, HTTP sessions) and
closed here, after every frontend drained its in-flight covers; frontends only borrow it.
Both frontends share it, so they share its queue, cooldowns, cache and history: a cover
made in Slack can be rerolled there after a restart, and one person's requests are counted
together wherever they come from (the Requester says which platform). With `[metrics] bind`
the operator's endpoint (/healthz, /metrics: ops_server.py) opens inside the service's
lifetime and closes after the frontends drained.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import signal
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from albumgan.bot.config import BotConfig, Secrets, SlackConfig, metrics_address
from albumgan.bot.ops_server import Connected, OpsServer

if TYPE_CHECKING:
    from albumgan.bot.service import CoverService

log = logging.getLogger(__name__)


def slack_secrets_problem(settings: SlackConfig, secrets: Secrets) -> str:
    """What is missing for Slack in this mode ("" when nothing is)."""
    needed = {"SLACK_BOT_TOKEN": secrets.slack_bot_token}
    if settings.mode == "http":
        needed["SLACK_SIGNING_SECRET"] = secrets.slack_signing_secret
    else:
        needed["SLACK_APP_TOKEN"] = secrets.slack_app_token
    missing = [name for name, value in needed.items() if not value]
    if not missing:
        return ""
    return (
        f"{' and '.join(missing)} not set: create a Slack app (docs/SLACK.md) and export "
        f"{'them' if len(missing) > 1 else 'it'}"
    )


async def serve(
    config: BotConfig, service: CoverService, *, discord: bool, slack: bool, secrets: Secrets | None = None
) -> None:
    """Run the chosen frontends until SIGTERM/SIGINT (or until the Discord client stops),
    then let every frontend finish its in-flight covers and close the service once."""
    secrets = secrets or Secrets.from_env()
    if discord and not secrets.discord_token:
        raise SystemExit("DISCORD_TOKEN is not set: create a bot at discord.com/developers")
    if slack and (problem := slack_secrets_problem(config.slack, secrets)):
        raise SystemExit(problem)
    frontends: dict[str, Connected] = {}  # for /healthz, as they start
    async with service, _ops_server(config, service, frontends):
        await _run_frontends(config, service, secrets, frontends, discord=discord, slack=slack)


def _ops_server(
    config: BotConfig, service: CoverService, frontends: dict[str, Connected]
) -> contextlib.AbstractAsyncContextManager:
    """/healthz and /metrics when [metrics] bind names an address; nothing otherwise."""
    address = metrics_address(config.metrics.bind)
    return contextlib.nullcontext() if address is None else OpsServer(address, service, frontends)


def _upload_timer(service: CoverService, platform: str) -> Callable[[float], None]:
    observer = getattr(service, "observer", None)  # a stand-in service (frontend tests) has none
    return (lambda seconds: None) if observer is None else functools.partial(observer.uploaded, platform)


async def _run_frontends(
    config: BotConfig,
    service: CoverService,
    secrets: Secrets,
    frontends: dict[str, Connected],
    *,
    discord: bool,
    slack: bool,
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    closers: list[Callable[[], Awaitable[None]]] = []
    runners: list[asyncio.Task] = []
    try:
        if slack:
            from albumgan.bot.slack_app import SlackFrontend  # slack-bolt is only needed here

            frontend = SlackFrontend(
                service,
                config.slack,
                bot_token=secrets.slack_bot_token,
                app_token=secrets.slack_app_token,
                signing_secret=secrets.slack_signing_secret,
            )
            closers.append(frontend.close)
            frontend.on_upload = _upload_timer(service, "slack")
            frontends["slack"] = frontend.connected
            await frontend.start()
        if discord:
            from albumgan.bot.discord_app import make_bot  # discord.py is only needed here

            bot = make_bot(service, config.discord)
            closers.append(bot.close)
            bot.on_upload = _upload_timer(service, "discord")
            frontends["discord"] = bot.connected
            runners.append(asyncio.create_task(bot.start(secrets.discord_token)))  # type: ignore[attr-defined]
        stopper = asyncio.create_task(stop.wait())
        await asyncio.wait({stopper, *runners}, return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
        log.info("shutting down: finishing in-flight covers")
    finally:
        # Frontends drain side by side; the service closes after the last one (async with).
        await asyncio.gather(*(close() for close in closers))
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
    for runner in runners:
        await runner  # login failures etc. surface here
