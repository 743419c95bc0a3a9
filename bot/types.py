"""What the cover service hands to every frontend (Discord, Slack, local CLI).

Frontends are thin: they turn a chat command into a service call and a `CoverResult`
into their platform's message. Nothing here knows about a platform.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from albumgan.modelfile import ModelInfo

log = logging.getLogger(__name__)

SERVICE_DOWN = "A service I depend on is down; please try again soon."

# Called with the queue position when a request has to wait for a slot.
OnQueued = Callable[[int], Awaitable[None]] | None


class UserError(Exception):
    """Bad input from a person (wrong link kind, unknown id, ...): shown to them as is."""


class ServiceUnavailable(Exception):
    """An upstream (Spotify, feature provider, model) is down: a friendly message, no blame."""


def failure_text(exc: BaseException, what: str) -> str:
    """What a chat user is told when their request failed: the friendly text of a
    UserError or ServiceUnavailable as is; anything else is a bug, logged with its traceback
    under a short incident id that the answer quotes (never the exception itself)."""
    if isinstance(exc, UserError):
        return str(exc)
    if isinstance(exc, ServiceUnavailable):
        return str(exc) or SERVICE_DOWN
    incident = secrets.token_hex(3)
    log.error("incident %s: %s failed", incident, what, exc_info=exc)
    return f"Something broke on our side (incident {incident}). Please try again later."


def forgotten_text(count: int) -> str:
    """The answer to a person's "forget me" command, on every platform."""
    if count == 0:
        return "I had no covers of yours in my history: nothing to delete."
    covers = "cover" if count == 1 else "covers"
    return f"Deleted the {count} {covers} you made from my history; their buttons no longer work."


@dataclass(frozen=True)
class Requester:
    """Who asked, where: enough for cooldowns, fair queueing and history on any platform."""

    platform: str  # "discord", "slack", "cli"
    user_id: str
    channel_id: str = ""
    guild_id: str = ""  # Discord guild or Slack team


@dataclass(frozen=True)
class FeatureReport:
    """The features that conditioned a cover: raw values by name (None = missing),
    where each came from, how missing ones were filled, and which values lay outside what
    the model learned (albumgan.labels.TrainedRanges) with the value it was given instead."""

    values: dict[str, float | None]
    sources: dict[str, str] = field(default_factory=dict)
    missing_note: str = ""  # e.g. "popularity unknown: left to the model (masked)"
    tracks_used: int = 1  # albums: how many tracks had features
    tracks_total: int = 1
    fitted: dict[str, float] = field(default_factory=dict)  # name -> value used, where it moved


# How many covers one answer shows: "single", a 2x2 "grid" of candidates, or "server"
# (that server's setting: grids unless its admins chose single covers). See grids.py.
Layout = str
SERVER_LAYOUT = "server"


@dataclass(frozen=True)
class Candidate:
    """One cover of a grid: its own history row, so Pick and Vary work on it alone."""

    generation_id: int | None
    seed: int
    subtitle: str


@dataclass(frozen=True)
class CoverResult:
    generation_id: int | None  # None: its history row could not be written, so no buttons
    kind: str  # "cover", "album", "random"
    title: str  # track or album name, or "Random cover"
    subtitle: str  # artists, or the seed line
    image_png: bytes  # the cover, upscaled for display
    card_png: bytes | None  # bar chart of the features (None for random)
    seed: int
    model_name: str
    model_version: str
    features: FeatureReport | None = None
    source_url: str = ""
    elapsed_s: float = 0.0
    candidates: tuple[Candidate, ...] = ()  # a grid's covers, in reading order; () for a single cover
    enlarged_from: int = 0  # a Full size file: the model's resolution (px) it was enlarged from

    @property
    def full_size(self) -> bool:
        return self.enlarged_from > 0


@dataclass(frozen=True)
class BlendResult:
    """Covers along the path between two songs: a strip and a looping animation (blend.py)."""

    title: str  # "A → B"
    subtitle: str
    strip_png: bytes
    animation: bytes  # GIF
    frames: int
    model_name: str
    model_version: str
    elapsed_s: float = 0.0


@dataclass(frozen=True)
class HistoryEntry:
    """One cover in a person's history, as `/history` lists it."""

    generation_id: int
    kind: str
    title: str
    subtitle: str
    seed: int
    variations: int  # how many Vary steps from the seed's cover
    created_at: float
    model: str  # name and version


@dataclass(frozen=True)
class HistoryPage:
    entries: tuple[HistoryEntry, ...]
    page: int  # 0 = the newest
    has_more: bool  # an older page exists


class CoverCommands(Protocol):
    """What a frontend may ask of the cover service: `CoverService` is the implementation,
    the frontend tests drive a stub of the same shape. Frontends borrow the service; its
    owner (bot/serve.py, or the CLI) opens and closes it."""

    async def cover(
        self,
        link: str,
        who: Requester,
        *,
        seed: int | None = None,
        layout: Layout = "single",
        on_queued: OnQueued = None,
    ) -> CoverResult: ...

    async def album(
        self,
        link: str,
        who: Requester,
        *,
        seed: int | None = None,
        layout: Layout = "single",
        on_queued: OnQueued = None,
    ) -> CoverResult: ...

    async def random(
        self, who: Requester, *, seed: int | None = None, layout: Layout = "single", on_queued: OnQueued = None
    ) -> CoverResult: ...

    async def reroll(
        self, generation_id: int, who: Requester, *, layout: Layout = "single", on_queued: OnQueued = None
    ) -> CoverResult: ...

    async def variation(
        self, generation_id: int, who: Requester, *, layout: Layout = "single", on_queued: OnQueued = None
    ) -> CoverResult: ...

    async def remake(self, generation_id: int, who: Requester, *, on_queued: OnQueued = None) -> CoverResult: ...

    async def show(self, generation_id: int, who: Requester, *, on_queued: OnQueued = None) -> CoverResult: ...

    async def history(self, who: Requester, *, page: int = 0) -> HistoryPage: ...

    async def full_size(self, generation_id: int, who: Requester, *, on_queued: OnQueued = None) -> CoverResult: ...

    async def delete(self, generation_ids: Sequence[int], who: Requester, *, admin: bool = False) -> int: ...

    async def blend(self, a: str, b: str, who: Requester, *, on_queued: OnQueued = None) -> BlendResult: ...

    async def about(self) -> list[ModelInfo]: ...

    async def forget(self, who: Requester) -> int: ...

    async def get_setting(self, who: Requester, key: str, default: Any = None) -> Any: ...

    async def set_setting(self, who: Requester, key: str, value: Any) -> None: ...
