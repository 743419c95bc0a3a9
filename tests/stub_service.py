"""A stand-in for `CoverService` where a test is about one frontend alone (error mapping,
buttons, reconnects): it speaks the same API and returns real PNG bytes. Discord and Slack
tests both use it; end-to-end tests use the real service instead."""

from __future__ import annotations

import asyncio
import io
from typing import Any

from PIL import Image

from albumgan.bot.types import BlendResult, Candidate, CoverResult, FeatureReport, HistoryPage, Requester, UserError


def decoded(data: bytes) -> Image.Image:
    """A PNG a frontend sent, checked by its signature and fully decoded."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def pixels(data: bytes) -> bytes:
    """A PNG's RGB pixels: what two covers share when only their text chunks (cover id) differ."""
    return decoded(data).convert("RGB").tobytes()


def png(seed: int, size: int = 32) -> bytes:
    image = Image.new("RGB", (size, size), ((seed * 37) % 256, (seed * 91) % 256, 128))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


class StubService:
    """CoverService's API with canned results; `fail_with` makes the next calls raise."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any, Requester]] = []
        self.fail_with: BaseException | None = None
        self.queue_position = 0  # > 0: call on_queued(position) before answering
        self.gate: asyncio.Event | None = None  # set: calls wait for it (in-flight work)
        self.entered = asyncio.Event()  # a call has reached the service
        self.started = self.closed = False
        self._next_id = 100
        # Single covers unless a test sets ("", "layout") or a guild's layout to "grid"
        self.settings: dict[tuple[str, str], Any] = {}

    async def start(self) -> None:
        self.started = True

    async def close(self) -> None:
        self.closed = True

    async def __aenter__(self) -> StubService:
        await self.start()
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self.close()

    async def about(self) -> list[Any]:
        return []

    async def forget(self, who: Requester) -> int:
        self.calls.append(("forget", None, who))
        if self.fail_with is not None:
            raise self.fail_with
        return 0

    async def _make(
        self, kind: str, arg: Any, who: Requester, seed: int | None, on_queued, layout: str = "single"
    ) -> CoverResult:
        self.calls.append((kind, arg, who))
        self.entered.set()
        if self.queue_position and on_queued is not None:
            await on_queued(self.queue_position)
        if self.gate is not None:
            await self.gate.wait()
        if self.fail_with is not None:
            raise self.fail_with
        self._next_id += 1
        seed = self._next_id * 7 if seed is None else seed
        features = None
        if kind in ("cover", "album"):
            features = FeatureReport(
                values={"energy": 0.8, "tempo": 120.0, "popularity": None},
                sources={"energy": "local", "tempo": "local"},
                missing_note="popularity unknown: left to the model (masked)",
            )
        candidates: tuple[Candidate, ...] = ()
        if layout == "server":
            layout = await self.get_setting(who, "layout", "single")
        if layout == "grid":
            candidates = tuple(Candidate(self._next_id + i, seed + i, f"seed {seed + i}") for i in range(4))
            self._next_id += 3
        return CoverResult(
            generation_id=self._next_id - len(candidates) + 1 if candidates else self._next_id,
            kind=kind,
            title="Random cover" if kind == "random" else f"{kind} title",
            subtitle=f"seed {seed}",
            image_png=png(seed),
            card_png=png(seed + 1, 16) if features else None,
            seed=seed,
            model_name="stub",
            model_version="v1",
            features=features,
            candidates=candidates,
        )

    async def cover(self, link, who, *, seed=None, layout="single", on_queued=None):
        return await self._make("cover", link, who, seed, on_queued, layout)

    async def album(self, link, who, *, seed=None, layout="single", on_queued=None):
        return await self._make("album", link, who, seed, on_queued, layout)

    async def random(self, who, *, seed=None, layout="single", on_queued=None):
        return await self._make("random", seed, who, seed, on_queued, layout)

    async def reroll(self, generation_id, who, *, layout="single", on_queued=None):
        if generation_id > self._next_id:
            raise UserError("I don't know that cover any more; make a new one.")
        return await self._make("reroll", generation_id, who, None, on_queued, layout)

    async def variation(self, generation_id, who, *, layout="single", on_queued=None):
        return await self._make("variation", generation_id, who, None, on_queued, layout)

    async def remake(self, generation_id, who, *, on_queued=None):
        return await self._make("remake", generation_id, who, None, on_queued)

    async def show(self, generation_id, who, *, on_queued=None):
        return await self._make("show", generation_id, who, None, on_queued)

    async def full_size(self, generation_id, who, *, on_queued=None):
        return await self._make("full_size", generation_id, who, None, on_queued)

    async def blend(self, a, b, who, *, on_queued=None):
        result = await self._make("blend", (a, b), who, None, on_queued)
        return BlendResult(
            title=f"{a} → {b}",
            subtitle="8 covers",
            strip_png=result.image_png,
            animation=b"GIF89a",
            frames=8,
            model_name="stub",
            model_version="v1",
        )

    async def history(self, who, *, page=0):
        self.calls.append(("history", page, who))
        return HistoryPage(entries=(), page=page, has_more=False)

    async def delete(self, generation_ids, who, *, admin=False):
        self.calls.append(("delete", (tuple(generation_ids), admin), who))
        if self.fail_with is not None:
            raise self.fail_with
        return len(generation_ids)

    async def get_setting(self, who, key, default=None):
        return self.settings.get((who.guild_id, key), default)

    async def set_setting(self, who, key, value):
        self.calls.append(("set_setting", (key, value), who))
        self.settings[(who.guild_id, key)] = value
