"""What a running bot tells its operator about each request: the metrics (metrics.py) and one
log line, both from the one path every frontend's requests take (service.py), so Discord,
Slack and the CLI are counted and logged alike.

Each command of the service is `@observed`: a trace follows the request through its stages,
which the service marks with `enter` as it goes: "input" (its link, seed or button checked),
"admission" (the queue's limits), "lookup" (metadata and features, covers and albums only),
"queue_wait" (for a generation slot), "generation" and "answer" (history rows, PNGs). The
time between entering one stage and the next is what the histograms show. The trace lives in
a context variable, so the service's code paths carry no extra argument for it.

The log line (logger `albumgan.requests`, INFO) is event "cover" for a request that was
served or failed, and event "user_error" for a mistake the person can fix (a refused
cooldown or per-user cap included); docs/OPERATIONS.md lists the fields. People are not
named there: `user` is a keyed hash of platform and user id, the key made at start and never
stored, so one person's requests can be told apart within one run (a flood shows) but not
traced back to an account, and /forget has nothing to delete from the logs.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any, TypeVar, cast

from albumgan.bot.metrics import PROVIDERS, BotMetrics
from albumgan.bot.queue import FairQueue, Refusal
from albumgan.bot.types import Requester, ServiceUnavailable, UserError
from albumgan.modelfile import ModelInfo

log = logging.getLogger("albumgan.requests")

STAGES = ("input", "admission", "lookup", "queue_wait", "generation", "answer")
Command = TypeVar("Command", bound=Callable[..., Awaitable[Any]])


class RequestTrace:
    """One request on its way through the service: who asked, which stage it is in, when it
    entered each, and (when served) the cover and the model that made it."""

    def __init__(self, command: str, who: Requester) -> None:
        self.command = command
        self.who = who
        self.started = time.perf_counter()
        self.stage = STAGES[0]
        self._entered = {self.stage: self.started}  # in the order entered
        self.model: ModelInfo | None = None
        self.cover_ids: list[int | None] = []  # a grid's four, or one

    def enter(self, stage: str) -> None:
        assert stage in STAGES, stage
        self.stage = stage
        self._entered[stage] = time.perf_counter()

    def seconds(self, stage: str) -> float | None:
        """How long `stage` took; None unless it was entered and left."""
        order = list(self._entered)
        if stage not in order or order[-1] == stage:
            return None
        return self._entered[order[order.index(stage) + 1]] - self._entered[stage]

    def elapsed_s(self) -> float:
        return time.perf_counter() - self.started


class Observer:
    def __init__(self, queue: FairQueue, loaded_models: Callable[[], list[ModelInfo]]) -> None:
        self.metrics = BotMetrics(queue, loaded_models)
        self._user_key = secrets.token_bytes(16)  # never stored: `user` hashes mean nothing after a restart

    @contextlib.contextmanager
    def request(self, command: str, who: Requester) -> Iterator[RequestTrace]:
        """Trace one request of `command`; counted and logged when the block ends, however it ends."""
        trace = RequestTrace(command, who)
        try:
            yield trace
        except BaseException as exc:
            self._finish(trace, exc)
            raise
        self._finish(trace, None)

    def provider_error(self, provider: str) -> None:
        """A provider ("spotify", "reccobeats-popularity", ...) failed a lookup."""
        family = provider.split("-")[0]
        self.metrics.provider_errors.labels(family if family in PROVIDERS else "other").inc()

    def model_reloaded(self, kind: str, outcome: str) -> None:
        self.metrics.reloads.labels(kind, outcome).inc()

    def uploaded(self, platform: str, seconds: float) -> None:
        """A frontend sent a finished cover to its platform in `seconds`."""
        self.metrics.upload_seconds.labels(platform).observe(seconds)

    def user_hash(self, who: Requester) -> str:
        return hmac.new(self._user_key, f"{who.platform}:{who.user_id}".encode(), hashlib.sha256).hexdigest()[:12]

    def _finish(self, trace: RequestTrace, exc: BaseException | None) -> None:
        outcome = outcome_of(exc)
        metrics = self.metrics
        metrics.covers.labels(trace.command, outcome).inc()
        if isinstance(exc, Refusal):
            metrics.refusals.labels(exc.reason).inc()
        timed = {
            "queue_wait": metrics.queue_wait_seconds.labels(trace.command),
            "lookup": metrics.lookup_seconds.labels(trace.command),
        }
        if trace.model is not None:
            timed["generation"] = metrics.generation_seconds.labels(trace.model.kind)
        for stage, histogram in timed.items():
            if (seconds := trace.seconds(stage)) is not None:
                histogram.observe(seconds)
        elapsed = trace.elapsed_s()
        if outcome == "ok":
            metrics.request_seconds.labels(trace.command).observe(elapsed)
        self._log(trace, outcome, exc, elapsed)

    def _log(self, trace: RequestTrace, outcome: str, exc: BaseException | None, elapsed: float) -> None:
        who = trace.who
        common = {
            "command": trace.command,
            "outcome": outcome,
            "platform": who.platform,
            "guild_id": who.guild_id or None,
            "user": self.user_hash(who),
        }
        if isinstance(exc, UserError):
            kind = exc.reason if isinstance(exc, Refusal) else trace.stage
            fields = {"event": "user_error", **common, "kind": kind, "error": str(exc), "latency_ms": _ms(elapsed)}
            log.info("%s %s (%s): %s", trace.command, outcome, kind, exc, extra=fields)
            return
        cover_id = trace.cover_ids[0] if trace.cover_ids else None
        fields = {
            "event": "cover",
            "cover_id": cover_id,
            **common,
            **{f"{stage}_ms": _ms(trace.seconds(stage)) for stage in ("queue_wait", "lookup", "generation")},
            "latency_ms": _ms(elapsed),
            "model": trace.model.name if trace.model else None,
            "model_version": trace.model.version if trace.model else None,
        }
        if exc is not None:
            # The friendly text of an outage; only the type of a bug (the frontend logs it
            # with its traceback under an incident id).
            fields["error"] = str(exc) if isinstance(exc, ServiceUnavailable) else type(exc).__name__
        made = f" (cover #{cover_id}, {fields['model']} {fields['model_version']})" if outcome == "ok" else ""
        level = logging.WARNING if outcome == "error" else logging.INFO
        log.log(level, "%s %s in %.0f ms%s", trace.command, outcome, elapsed * 1000, made, extra=fields)


_current: contextvars.ContextVar[RequestTrace | None] = contextvars.ContextVar("albumgan_request", default=None)


def observed(command: str) -> Callable[[Command], Command]:
    """Decorates a command method of a service that has an `observer`: the request is traced
    while the method runs, then counted and logged, however it ended. Its Requester is the
    argument that is one (every command has exactly one)."""

    def decorate(method: Command) -> Command:
        @functools.wraps(method)
        async def traced(service: Any, *args: Any, **kwargs: Any) -> Any:
            who = next(arg for arg in (*args, *kwargs.values()) if isinstance(arg, Requester))
            with service.observer.request(command, who) as trace:
                token = _current.set(trace)
                try:
                    return await method(service, *args, **kwargs)
                finally:
                    _current.reset(token)

        return cast(Command, traced)

    return decorate


def enter(stage: str, *, model: ModelInfo | None = None) -> None:
    """The current request enters `stage` (and was generated by `model`, when given)."""
    trace = _current.get()
    if trace is not None:
        trace.enter(stage)
        trace.model = model or trace.model


def served(cover_ids: Sequence[int | None]) -> None:
    """The current request's answer is made, with these history rows."""
    trace = _current.get()
    if trace is not None:
        trace.cover_ids = list(cover_ids)


def outcome_of(exc: BaseException | None) -> str:
    if exc is None:
        return "ok"
    if isinstance(exc, Refusal):
        return "refused"
    if isinstance(exc, UserError):
        return "user_error"
    if isinstance(exc, ServiceUnavailable):
        return "unavailable"
    if isinstance(exc, Exception):
        return "error"
    return "cancelled"  # CancelledError, or the process stopping


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)
