"""An aiohttp server on 127.0.0.1 (ephemeral port) running in a background thread, so sync
tests (spotipy, requests) and async tests can both talk to it over a real socket.

Subclasses implement `handle(request, path)`. Every request is logged, and fault rules
(`inject`) let a test answer chosen requests with an error status, a Retry-After, a delay,
or hold them until the test releases them (`hold`: an upstream that is slow for as long as
the test needs, so tests assert what happens meanwhile instead of timing anything).
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from dataclasses import dataclass

from aiohttp import web

# How long a test waits for the bot to do something before it fails. Only a failing test waits
# this long, so it is generous: a CI machine running training beside the suite is slow.
PATIENCE_S = 60.0


@dataclass
class Fault:
    pattern: re.Pattern
    status: int | None  # None: answer normally, only slowly
    times: int | None  # None: forever
    skip: int  # let this many matching requests through first
    retry_after: str | None
    delay_s: float
    body: dict | None
    hold: threading.Event | None = None  # answer only once the test sets it

    async def wait_for_release(self) -> None:
        # polled: the event is set from the test's thread, this runs on the fake's own loop
        while self.hold is not None and not self.hold.is_set():
            await asyncio.sleep(0.005)

    def matches(self, line: str) -> bool:
        if not self.pattern.search(line) or self.times == 0:
            return False
        if self.skip > 0:
            self.skip -= 1
            return False
        if self.times is not None:
            self.times -= 1
        return True


async def serve_on_loopback(app: web.Application) -> tuple[web.AppRunner, int]:
    """Start `app` on 127.0.0.1 at an ephemeral port; the caller cleans the runner up."""
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner, runner.addresses[0][1]


class LoopbackServer:
    def __init__(self) -> None:
        self.requests: list[str] = []  # "GET /v1/albums/x?market=DE", in arrival order
        self.faults: list[Fault] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._lock = threading.Lock()
        self.port = 0

    # --- lifecycle -------------------------------------------------------------------
    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    async def __aenter__(self):
        await asyncio.to_thread(self.start)
        return self

    async def __aexit__(self, *exc) -> None:
        await asyncio.to_thread(self.stop)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=type(self).__name__, daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError(f"{type(self).__name__} did not start")

    def stop(self) -> None:
        if self._loop and self._stop:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread:
            self._thread.join(10)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _run(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner, self.port = await serve_on_loopback(app)
        self._ready.set()
        await self._stop.wait()
        await self._runner.cleanup()

    # --- requests --------------------------------------------------------------------
    def inject(
        self,
        pattern: str,
        status: int | None,
        *,
        times: int | None = 1,
        skip: int = 0,
        retry_after: float | str | None = None,
        delay_s: float = 0.0,
        body: dict | None = None,
        hold: threading.Event | None = None,
    ) -> Fault:
        """Answer requests whose "METHOD /path?query" line matches `pattern` with `status`
        (None: the normal answer), after `delay_s` and, with `hold`, once it is set."""
        fault = Fault(
            re.compile(pattern),
            status,
            times,
            skip,
            None if retry_after is None else str(retry_after),
            delay_s,
            body,
            hold,
        )
        with self._lock:
            self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self._lock:
            self.faults.clear()

    def count(self, pattern: str) -> int:
        regex = re.compile(pattern)
        return sum(1 for line in list(self.requests) if regex.search(line))

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        line = f"{request.method} {request.path_qs}"
        self.requests.append(line)
        with self._lock:
            fault = next((f for f in self.faults if f.matches(line)), None)
        if fault and fault.delay_s:
            await asyncio.sleep(fault.delay_s)
        if fault:
            await fault.wait_for_release()
        if fault and fault.status is not None:
            headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
            return json_response(fault.body or self.error_body(fault.status), fault.status, headers)
        return await self.handle(request, request.path)

    def error_body(self, status: int) -> dict:
        return {"error": {"status": status, "message": "injected"}}

    async def handle(self, request: web.Request, path: str) -> web.StreamResponse:
        raise NotImplementedError


def json_response(body, status: int = 200, headers: dict | None = None) -> web.Response:
    return web.Response(text=json.dumps(body), status=status, headers=headers, content_type="application/json")
