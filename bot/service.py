"""The cover service: one asyncio object that every frontend (Discord, Slack, CLI) calls.

A request goes: link -> (kind, id) -> fair queue -> metadata (local demo table, cache,
Spotify) -> audio features (cache, provider chain) -> condition vector -> ONNX generator
(batched across concurrent requests) -> PNG + features card -> history row -> CoverResult.

Everything a cover was made from (condition vectors as fed to the model, seed, latent
perturbation steps, model hash) is stored, so reroll, variations and exact re-makes never
look anything up again. Nothing here imports torch.

Errors: `UserError` and `ServiceUnavailable` carry friendly text to show as is; anything
else is a bug the frontend reports with an incident id.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import secrets as secrets_module
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import numpy as np

from albumgan.bot.cards import render_features_card
from albumgan.bot.config import BotConfig, Secrets
from albumgan.bot.db import Database, GenerationRecord, LatentStep
from albumgan.bot.engine import ModelInfo, ModelRunner
from albumgan.bot.imaging import to_png, upscale
from albumgan.bot.links import LinkResolver
from albumgan.bot.lookups import Lookups, artists, average, feature_report
from albumgan.bot.queue import FairQueue
from albumgan.bot.registry import ModelRegistry
from albumgan.bot.types import CoverResult, FeatureReport, OnQueued, Requester, UserError
from albumgan.latent import latents_from_seeds, perturb
from albumgan.links import SpotifyRef

log = logging.getLogger(__name__)

SEED_LIMIT = 2**32
# Which model serves which kind of cover.
MODEL_FOR = {"cover": "acgan", "album": "acgan", "random": "unconditional"}


@dataclass(frozen=True)
class _Job:
    """What to generate and how to describe it: everything a history row needs."""

    kind: str
    title: str
    subtitle: str
    seed: int
    latent_steps: tuple[LatentStep, ...] = ()
    labels: list[float] | None = None
    mask: list[float] | None = None
    report: FeatureReport | None = None
    input_link: str = ""
    input_ids: tuple[str, ...] = ()
    source_url: str = ""
    parent_id: int | None = None


class CoverService:
    def __init__(
        self,
        config: BotConfig,
        *,
        lookups: Lookups,
        resolver: LinkResolver,
        queue: FairQueue,
        runners: dict[str, ModelRunner] | None = None,
    ) -> None:
        self.config = config
        self.lookups = lookups
        self.resolver = resolver
        self.queue = queue
        self.models = ModelRegistry(config, runners=runners)
        self.db: Database | None = None
        self._closed = False

    # -- construction and lifecycle ----------------------------------------------------

    @classmethod
    def from_config(cls, config: BotConfig, **overrides) -> CoverService:
        """Build from config and env secrets. Overrides (tests, embedding): secrets, catalog,
        chain, local, resolver, queue, runners."""
        secrets: Secrets = overrides.pop("secrets", None) or Secrets.from_env()
        lookup_parts = {k: overrides.pop(k) for k in ("catalog", "chain", "local") if k in overrides}
        lookups = Lookups.from_config(config, secrets, **lookup_parts)
        resolver = overrides.pop("resolver", None) or LinkResolver(
            short_link_base=config.spotify.short_link_base, timeout_s=config.spotify.short_link_timeout_s
        )
        limits = config.limits
        queue = overrides.pop("queue", None) or FairQueue(
            max_size=limits.queue_size,
            per_user=limits.per_user_queued,
            cooldown_s=limits.cooldown_s,
            workers=limits.workers,
        )
        runners = overrides.pop("runners", None)
        if overrides:
            raise TypeError(f"unknown CoverService overrides: {', '.join(sorted(overrides))}")
        return cls(config, lookups=lookups, resolver=resolver, queue=queue, runners=runners)

    async def start(self) -> None:
        """Open the database and load the models. A missing model is not fatal: the
        commands it serves say it is not installed, the others keep working."""
        self.db = await Database.open(self.config.path(self.config.database.path))
        self.lookups.db = self.db
        await self.models.start()

    async def __aenter__(self) -> CoverService:
        await self.start()
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self.close()

    async def close(self) -> None:
        """Finish admitted requests, then release models, HTTP sessions and the database.
        Idempotent."""
        if self._closed:
            return
        self._closed = True
        await self.queue.close()
        await self.models.close()
        await self.resolver.close()
        if self.db is not None:
            await self.db.close()
            self.db = None

    # -- the commands --------------------------------------------------------------------

    async def cover(
        self, link: str, who: Requester, *, seed: int | None = None, on_queued: OnQueued = None
    ) -> CoverResult:
        started = time.perf_counter()
        seed = _check_seed(seed)
        ref = await self.resolver.resolve(link, "track")
        self.models.runner("acgan")
        return await self._queued(who, on_queued, lambda: self._cover(ref, link, seed, who, started))

    async def album(
        self, link: str, who: Requester, *, seed: int | None = None, on_queued: OnQueued = None
    ) -> CoverResult:
        started = time.perf_counter()
        seed = _check_seed(seed)
        ref = await self.resolver.resolve(link, "album")
        self.models.runner("acgan")
        return await self._queued(who, on_queued, lambda: self._album(ref, link, seed, who, started))

    async def random(self, who: Requester, *, seed: int | None = None, on_queued: OnQueued = None) -> CoverResult:
        started = time.perf_counter()
        self.models.runner("unconditional")
        seed = _check_seed(seed)
        job = _Job(kind="random", title="Random cover", subtitle=f"seed {seed}", seed=seed)
        return await self._queued(who, on_queued, lambda: self._make(job, who, started))

    async def reroll(self, generation_id: int, who: Requester, *, on_queued: OnQueued = None) -> CoverResult:
        """Same inputs, new seed."""
        started = time.perf_counter()
        rec = await self._history(generation_id)
        self.models.runner(rec.model_kind)
        job = self._job_from(rec, seed=_check_seed(None), latent_steps=(), parent_id=rec.id)
        return await self._queued(who, on_queued, lambda: self._make(job, who, started))

    async def variation(self, generation_id: int, who: Requester, *, on_queued: OnQueued = None) -> CoverResult:
        """Same inputs, the latent nudged a little (a new perturbation on top of the old)."""
        started = time.perf_counter()
        rec = await self._history(generation_id)
        self.models.runner(rec.model_kind)
        step = LatentStep(_check_seed(None), self.config.models.variation_strength)
        job = self._job_from(rec, seed=rec.seed, latent_steps=(*rec.latent_steps, step), parent_id=rec.id)
        return await self._queued(who, on_queued, lambda: self._make(job, who, started))

    async def remake(self, generation_id: int, who: Requester, *, on_queued: OnQueued = None) -> CoverResult:
        """The exact image of an earlier generation, from its stored inputs (no new row)."""
        started = time.perf_counter()
        rec = await self._history(generation_id)
        runner = self.models.runner(rec.model_kind)
        if runner.info.sha256 != rec.model_sha256:
            raise UserError(
                f"Cover #{rec.id} was made by {rec.model_name} {rec.model_version}, which is no "
                f"longer installed (now {runner.info.name} {runner.info.version}); "
                "use Reroll or Variations instead."
            )
        job = self._job_from(rec, seed=rec.seed, latent_steps=tuple(rec.latent_steps), parent_id=rec.parent_id)
        return await self._queued(who, on_queued, lambda: self._make(job, who, started, existing_id=rec.id))

    async def about(self) -> list[ModelInfo]:
        return self.models.infos()

    async def get_setting(self, who: Requester, key: str, default=None):
        """A per-guild (Slack: per-team) setting, e.g. a frontend's display preference."""
        return await self._db().get_setting(who.platform, who.guild_id, key, default)

    async def set_setting(self, who: Requester, key: str, value) -> None:
        await self._db().set_setting(who.platform, who.guild_id, key, value)

    # -- request bodies (run while holding a queue slot) -----------------------------------

    async def _cover(self, ref: SpotifyRef, link: str, seed: int, who: Requester, started: float) -> CoverResult:
        track = await self.lookups.track(ref.id)
        known = {}
        if isinstance(track.get("popularity"), int | float):
            known[ref.id] = {"popularity": float(track["popularity"])}
        features = (await self.lookups.features([ref.id], known))[ref.id]
        report = feature_report(features, tracks_used=int(features.present), tracks_total=1)
        job = self._conditioned_job(
            "cover",
            report,
            title=track.get("name") or "Untitled track",
            subtitle=artists(track),
            seed=seed,
            input_link=link,
            input_ids=(ref.id,),
            source_url=self.lookups.public_url(ref),
        )
        return await self._make(job, who, started)

    async def _album(self, ref: SpotifyRef, link: str, seed: int, who: Requester, started: float) -> CoverResult:
        album, tracks = await self.lookups.album_and_tracks(ref.id)
        ids = [t["id"] for t in tracks if t.get("id")]
        if not ids:
            raise UserError(
                "That album has no tracks I can read, so there is nothing to average. Try a single track with /cover."
            )
        per_track = await self.lookups.features(ids, {})
        averaged, counts = average(list(per_track.values()))
        used = sum(1 for f in per_track.values() if f.present)
        report = feature_report(averaged, tracks_used=used, tracks_total=len(ids), counts=counts)
        job = self._conditioned_job(
            "album",
            report,
            title=album.get("name") or "Untitled album",
            subtitle=artists(album),
            seed=seed,
            input_link=link,
            input_ids=(ref.id, *ids),
            source_url=self.lookups.public_url(ref),
        )
        return await self._make(job, who, started)

    def _conditioned_job(self, kind: str, report: FeatureReport, **fields) -> _Job:
        labels, mask = self.models.runner("acgan").info.encode(report.values)
        return _Job(kind=kind, report=report, labels=labels.tolist(), mask=mask.tolist(), **fields)

    async def _make(self, job: _Job, who: Requester, started: float, existing_id: int | None = None) -> CoverResult:
        model_kind = MODEL_FOR[job.kind]
        runner = self.models.runner(model_kind)
        info = runner.info
        z = latent_for(info, job.seed, job.latent_steps)
        if job.labels is None:
            image = await runner.generate(z)
        else:
            image = await runner.generate(z, np.asarray(job.labels, np.float32), np.asarray(job.mask, np.float32))
        image_png, card_png = await asyncio.to_thread(self._render, job, image)
        generation_id = existing_id
        if generation_id is None:
            generation_id = await self._db().add_generation(
                GenerationRecord(
                    platform=who.platform,
                    user_id=who.user_id,
                    channel_id=who.channel_id,
                    guild_id=who.guild_id,
                    kind=job.kind,
                    parent_id=job.parent_id,
                    input_link=job.input_link[:500],
                    input_ids=list(job.input_ids),
                    title=job.title,
                    subtitle=job.subtitle,
                    features=_report_to_json(job.report),
                    labels=job.labels,
                    mask=job.mask,
                    seed=job.seed,
                    latent_steps=list(job.latent_steps),
                    model_kind=info.kind,
                    model_name=info.name,
                    model_version=info.version,
                    model_sha256=info.sha256,
                )
            )
        subtitle = job.subtitle
        if job.latent_steps:
            subtitle = f"{subtitle} · variation {len(job.latent_steps)}"
        return CoverResult(
            generation_id=generation_id,
            kind=job.kind,
            title=job.title,
            subtitle=subtitle,
            image_png=image_png,
            card_png=card_png,
            seed=job.seed,
            model_name=info.name,
            model_version=info.version,
            features=job.report,
            source_url=job.source_url,
            elapsed_s=time.perf_counter() - started,
        )

    def _render(self, job: _Job, image: np.ndarray) -> tuple[bytes, bytes | None]:
        image_png = to_png(upscale(image, self.config.models.display_size))
        if job.report is None:
            return image_png, None
        report = job.report
        card = render_features_card(
            report.values, title=job.title, subtitle=job.subtitle, sources=report.sources, note=report.missing_note
        )
        return image_png, card

    # -- helpers -------------------------------------------------------------------------

    async def _queued(
        self, who: Requester, on_queued: OnQueued, body: Callable[[], Awaitable[CoverResult]]
    ) -> CoverResult:
        return await self.queue.run((who.platform, who.user_id), body, on_queued)

    def _job_from(
        self, rec: GenerationRecord, *, seed: int, latent_steps: tuple[LatentStep, ...], parent_id: int | None
    ) -> _Job:
        """A job with a stored generation's inputs (no lookups) and the given latent."""
        source_url = ""
        if rec.kind != "random" and rec.input_ids:
            kind = "track" if rec.kind == "cover" else "album"
            source_url = self.lookups.public_url(SpotifyRef(kind, rec.input_ids[0]))
        return _Job(
            kind=rec.kind,
            title=rec.title,
            subtitle=f"seed {seed}" if rec.kind == "random" else rec.subtitle,
            seed=seed,
            latent_steps=latent_steps,
            labels=rec.labels,
            mask=rec.mask,
            report=_report_from_json(rec.features),
            input_link=rec.input_link,
            input_ids=tuple(rec.input_ids),
            source_url=source_url,
            parent_id=parent_id,
        )

    async def _history(self, generation_id: int) -> GenerationRecord:
        rec = await self._db().get_generation(int(generation_id))
        if rec is None:
            raise UserError(
                f"I have no cover #{generation_id} in my history; it may come from another install of this bot."
            )
        return rec

    def _db(self) -> Database:
        if self.db is None:
            raise RuntimeError("CoverService.start() has not been awaited")
        return self.db


def latent_for(info: ModelInfo, seed: int, steps: tuple[LatentStep, ...] | list[LatentStep]) -> np.ndarray:
    """The z row of a generation: the seed's latent, then each variation step in order."""
    z = latents_from_seeds([seed], info.z_dim, info.latent_prior)[0]
    for step in steps:
        z = perturb(z, step.seed, step.strength, info.latent_prior)
    return z


def _check_seed(seed: int | None) -> int:
    if seed is None:
        return secrets_module.randbits(32)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < SEED_LIMIT:
        raise UserError(f"A seed is a whole number from 0 to {SEED_LIMIT - 1}.")
    return seed


def _report_to_json(report: FeatureReport | None) -> dict | None:
    return None if report is None else dataclasses.asdict(report)


def _report_from_json(data: dict | None) -> FeatureReport | None:
    return None if data is None else FeatureReport(**data)
