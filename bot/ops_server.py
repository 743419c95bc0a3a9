"""The operator's HTTP endpoint, off unless `[metrics] bind` (or `serve --metrics`) names an
address: `/metrics` in the Prometheus text format and `/healthz` as JSON, 200 when healthy and
503 otherwise. It runs in the bot's own event loop (aiohttp.web), opened and closed by the
composition root (serve.py) with `async with`, inside the service's lifetime: it answers
while frontends connect and while they drain.

Healthy: at least one model serving (a missing one is listed, and the commands it serves say
so, but restarting would not bring it back), the database writable right now, and every
frontend this process runs connected (Discord: READY and every shard's socket open; Slack:
the Socket Mode socket open, or the HTTP endpoint listening). docs/OPERATIONS.md ("Observe").
"""

from __future__ import annotations

import json
import logging
import sqlite3
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from albumgan.bot.config import LOOPBACK

if TYPE_CHECKING:
    from albumgan.bot.service import CoverService

log = logging.getLogger(__name__)

Connected = Callable[[], Awaitable[bool]]  # a frontend's `connected`


class OpsServer:
    """/healthz and /metrics of one service on `address`; `frontends` ("discord", "slack" ->
    their `connected`) may be filled in after the server started."""

    def __init__(self, address: tuple[str, int], service: CoverService, frontends: Mapping[str, Connected]) -> None:
        self.host, self.port = address  # port 0: any free one, known after start
        self.service = service
        self.frontends = frontends
        self._runner: web.AppRunner | None = None

    async def __aenter__(self) -> OpsServer:
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/metrics", self._metrics)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        try:
            await site.start()
        except OSError as exc:
            await self._runner.cleanup()
            raise SystemExit(f"cannot serve /metrics on {self.host}:{self.port}: {exc.strerror}") from None
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        log.info("health and metrics on http://%s:%d (/healthz, /metrics)", self.host, self.port)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _metrics(self, request: web.Request) -> web.Response:
        body = self.service.observer.metrics.render()
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _healthz(self, request: web.Request) -> web.Response:
        report = await health_report(self.service, self.frontends)
        return web.json_response(report, status=200 if report["healthy"] else 503)


async def health_report(service: CoverService, frontends: Mapping[str, Connected]) -> dict[str, Any]:
    """What /healthz answers: `healthy`, the `problems` that make it unhealthy, and the parts."""
    models = {info.kind: {"name": info.name, "version": info.version} for info in service.models.infos()}
    writable = await _database_writable(service)
    connected = {name: await is_connected() for name, is_connected in frontends.items()}
    problems = [] if models else ["no model is serving"]
    problems += [] if writable else ["the database cannot be written"]
    problems += [f"{name} is not connected" for name, ok in connected.items() if not ok]
    return {
        "healthy": not problems,
        "problems": problems,
        "models": models,
        "models_missing": dict(service.models.problems),
        "database": {"writable": writable},
        "frontends": connected,
    }


async def _database_writable(service: CoverService) -> bool:
    if service.db is None:
        return False
    try:
        await service.db.check_writable()
    except sqlite3.Error as exc:
        log.warning("health check: the database cannot be written: %s", exc)
        return False
    return True


def ask_health(address: tuple[str, int], timeout_s: float = 10.0) -> tuple[int, str]:
    """(HTTP status, body) of /healthz at the [metrics] address, for `albumgan health` (the
    container's HEALTHCHECK); an address on every interface is asked on the loopback one."""
    host, port = address
    host = {"0.0.0.0": LOOPBACK, "::": "::1"}.get(host, host)
    url = f"http://{f'[{host}]' if ':' in host else host}:{port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return 0, json.dumps({"healthy": False, "problems": [f"{url}: {reason}"]})
