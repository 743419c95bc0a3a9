"""The cover service: one asyncio object that every frontend (Discord, Slack, CLI) calls.

A request goes: link -> (kind, id) -> admitted by the fair queue -> metadata (local demo
table, cache, Spotify) -> audio features (cache, provider chain) -> condition vector -> a
generation slot for the ONNX generator (batched across concurrent requests; a grid's four
in one batch: grids.py) -> history rows -> PNGs carrying them + features card -> CoverResult.
Blends (blend.py) and history (history.py) live in modules of their own. Lookups hold no
slot, and blocking work runs in the threads of `WorkPools` (pools.py), so a slow Spotify
cannot starve /random.

Everything a cover was made from (condition vectors as fed to the model, seed, latent
perturbation steps, model hash) is stored, so reroll, variations and exact re-makes never
look anything up again. Nothing here imports torch.

Errors: `UserError` and `ServiceUnavailable` carry friendly text to show as is; anything
else is a bug the frontend reports with an incident id.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence

from albumgan.bot import blend, grids, observe
from albumgan.bot.config import BotConfig, Secrets
from albumgan.bot.db import Database, GenerationRecord, LatentStep
from albumgan.bot.engine import ModelInfo, ModelRunner
from albumgan.bot.grids import SINGLE
from albumgan.bot.history import check_deletable, check_visible, history_page, stored_cover
from albumgan.bot.jobs import Job, check_seed
from albumgan.bot.links import LinkResolver
from albumgan.bot.lookups import Lookups
from albumgan.bot.observe import Observer, observed
from albumgan.bot.pools import WorkPools
from albumgan.bot.queue import FairQueue
from albumgan.bot.registry import ModelRegistry
from albumgan.bot.retention import Pruner
from albumgan.bot.song_jobs import song_job
from albumgan.bot.types import (
    BlendResult,
    CoverResult,
    HistoryPage,
    Layout,
    OnQueued,
    Requester,
    UserError,
)
from albumgan.latent import stable_seed
from albumgan.links import SpotifyRef

log = logging.getLogger(__name__)


class CoverService:
    def __init__(
        self,
        config: BotConfig,
        *,
        lookups: Lookups,
        resolver: LinkResolver,
        queue: FairQueue,
        pools: WorkPools,
        runners: dict[str, ModelRunner] | None = None,
    ) -> None:
        self.config = config
        self.lookups = lookups
        self.resolver = resolver
        self.queue = queue
        self.pools = pools  # blocking I/O and rendering, in threads of their own (pools.py)
        # Metrics and a log line per request (observe.py); the models are read at each scrape.
        self.observer = Observer(queue, lambda: self.models.infos())
        self.models = ModelRegistry(config, pools, runners=runners, on_reload=self.observer.model_reloaded)
        lookups.on_provider_error = self.observer.provider_error
        self.db: Database | None = None
        self.pruner = Pruner(config)
        self._closed = False

    # -- construction and lifecycle ----------------------------------------------------

    @classmethod
    def from_config(cls, config: BotConfig, **overrides) -> CoverService:
        """Build from config and env secrets. Overrides (tests, embedding): secrets, catalog,
        chain, local, resolver, queue, runners."""
        secrets: Secrets = overrides.pop("secrets", None) or Secrets.from_env()
        lookup_parts = {k: overrides.pop(k) for k in ("catalog", "chain", "local") if k in overrides}
        pools = WorkPools()
        lookups = Lookups.from_config(config, secrets, pools, **lookup_parts)
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
        return cls(config, lookups=lookups, resolver=resolver, queue=queue, pools=pools, runners=runners)

    async def start(self) -> None:
        """Open (and prune: retention.py) the database, load the models. A missing model is not fatal: the
        commands it serves say it is not installed, the others keep working."""
        self.db = await Database.open_configured(self.config)
        self.lookups.db = self.db
        await self.pruner.start(self.db)
        await self.models.start()

    async def __aenter__(self) -> CoverService:
        try:
            await self.start()
        except BaseException:
            await self.close()  # `async with` skips __aexit__ when entering fails: release what start opened
            raise
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
        await self.pruner.close()
        if self.db is not None:
            await self.db.close()
            self.db = None
        self.pools.close()

    # -- the commands --------------------------------------------------------------------

    @observed("cover")
    async def cover(
        self, link: str, who: Requester, *, seed: int | None = None, layout: Layout = SINGLE, on_queued: OnQueued = None
    ) -> CoverResult:
        """A track's cover; with no seed, the track's own (`song_seed`): the same for everyone."""
        return await self._song("track", link, who, seed, layout, on_queued)

    @observed("album")
    async def album(
        self, link: str, who: Requester, *, seed: int | None = None, layout: Layout = SINGLE, on_queued: OnQueued = None
    ) -> CoverResult:
        """An album's cover (features averaged over its tracks); seeded like `cover`."""
        return await self._song("album", link, who, seed, layout, on_queued)

    async def _song(
        self, kind: str, link: str, who: Requester, seed: int | None, layout: Layout, on_queued: OnQueued
    ) -> CoverResult:
        started = time.perf_counter()
        check_seed(seed, 0)  # a bad seed is refused before any lookup
        ref = await self.resolver.resolve(link, kind)
        seed = check_seed(seed, self.song_seed(ref))
        return await self._serve(who, on_queued, started, lambda: self._song_job(ref, link, seed), layout=layout)

    async def _song_job(self, ref: SpotifyRef, link: str, seed: int) -> Job:
        """What a track's or album's cover is made from: its lookups, conditioned for today's ACGAN."""
        return await song_job(self.lookups, self.models.runner("acgan").info, ref, link, seed)

    @observed("random")
    async def random(
        self, who: Requester, *, seed: int | None = None, layout: Layout = SINGLE, on_queued: OnQueued = None
    ) -> CoverResult:
        started = time.perf_counter()
        self.models.runner("unconditional")
        seed = check_seed(seed)
        job = Job(kind="random", title="Random cover", subtitle=f"seed {seed}", seed=seed)
        return await self._serve(who, on_queued, started, job, layout=layout)

    @observed("reroll")
    async def reroll(
        self, generation_id: int, who: Requester, *, layout: Layout = SINGLE, on_queued: OnQueued = None
    ) -> CoverResult:
        """Same inputs, new seed(s)."""
        started = time.perf_counter()
        rec = await stored_cover(self._db(), generation_id)
        self.models.runner(rec.model_kind)
        job = self._job_from(rec, seed=check_seed(None), latent_steps=(), parent_id=rec.id)
        return await self._serve(who, on_queued, started, job, layout=layout)

    @observed("variation")
    async def variation(
        self, generation_id: int, who: Requester, *, layout: Layout = SINGLE, on_queued: OnQueued = None
    ) -> CoverResult:
        """Same inputs, the latent nudged (a new perturbation on top of the old): one, or four."""
        started = time.perf_counter()
        rec = await stored_cover(self._db(), generation_id)
        self.models.runner(rec.model_kind)
        job = self._job_from(rec, seed=rec.seed, latent_steps=tuple(rec.latent_steps), parent_id=rec.id)
        spread = grids.varied(self.config.models.variation_strength)
        return await self._serve(who, on_queued, started, job, layout=layout, spread=spread)

    def song_seed(self, ref: SpotifyRef) -> int:
        """A track's or album's first seed under this model: shareable ("its cover"), new with the model."""
        info = self.models.runner("acgan").info
        return stable_seed(ref.kind, ref.id, info.name, info.version)

    @observed("remake")
    async def remake(self, generation_id: int, who: Requester, *, on_queued: OnQueued = None) -> CoverResult:
        """The same PNG bytes as an earlier cover, from its stored inputs (no new row): Pick."""
        return await self._remake(await stored_cover(self._db(), generation_id), who, on_queued)

    @observed("show")
    async def show(self, generation_id: int, who: Requester, *, on_queued: OnQueued = None) -> CoverResult:
        """`remake` of one of your covers, or of one made in your server, by its number."""
        rec = await stored_cover(self._db(), generation_id)
        check_visible(rec, who)
        return await self._remake(rec, who, on_queued)

    @observed("full_size")
    async def full_size(self, generation_id: int, who: Requester, *, on_queued: OnQueued = None) -> CoverResult:
        """`remake` enlarged to grids.FULL_SIZE px for printing or a wallpaper (no card)."""
        return await self._remake(await stored_cover(self._db(), generation_id), who, on_queued, size=grids.FULL_SIZE)

    async def history(self, who: Requester, *, page: int = 0) -> HistoryPage:
        """Your covers on this platform, newest first, a page at a time."""
        return await history_page(self._db(), who, page)

    async def delete(self, generation_ids: Sequence[int], who: Requester, *, admin: bool = False) -> int:
        """Delete an answer's covers: only whoever asked for them may, or an `admin` of that server."""
        for rec in [await stored_cover(self._db(), generation_id) for generation_id in generation_ids]:
            check_deletable(rec, who, admin=admin)
        return await self._db().delete_generations_by_id(generation_ids)

    async def _remake(
        self, rec: GenerationRecord, who: Requester, on_queued: OnQueued, size: int | None = None
    ) -> CoverResult:
        started = time.perf_counter()
        runner = self.models.runner(rec.model_kind)
        if runner.info.sha256 != rec.model_sha256:
            raise UserError(
                f"Cover #{rec.id} was made by {rec.model_name} {rec.model_version}, which is no "
                f"longer installed (now {runner.info.name} {runner.info.version}); "
                "use Reroll or Variations instead."
            )
        job = self._job_from(rec, seed=rec.seed, latent_steps=tuple(rec.latent_steps), parent_id=rec.parent_id)
        return await self._serve(who, on_queued, started, job, existing_id=rec.id, size=size)

    @observed("blend")
    async def blend(self, a: str, b: str, who: Requester, *, on_queued: OnQueued = None) -> BlendResult:
        """Covers along the path between two songs, albums or `seed:N`s (blend.py): one batch."""
        started, user = time.perf_counter(), (who.platform, who.user_id)
        async with self.queue.admitted(user):
            ends = [await self._blend_end(text) for text in (a, b)]
            async with self.queue.slot(user, on_queued):
                runner = self.models.runner(blend.model_kind(ends))
                info = runner.info  # read with no await before generate binds its engine
                images = await runner.generate_rows(*blend.frame_inputs(ends, info))
            pictures = await self.pools.render(blend.render, images, blend.parameters(ends, info))
        return blend.result(ends, pictures, info, started)

    async def _blend_end(self, text: str) -> Job:  # what that end's own first cover is made from
        if (seed := blend.seed_end(text)) is not None:
            return blend.random_end(seed)
        ref = await self.resolver.resolve(text, "track", or_kind="album")
        return await self._song_job(ref, text, self.song_seed(ref))

    async def about(self) -> list[ModelInfo]:
        return self.models.infos()

    async def forget(self, who: Requester) -> int:
        """Delete every cover this person made on this platform; how many there were."""
        return await self._db().delete_generations_of(who.platform, who.user_id)

    async def get_setting(self, who: Requester, key: str, default=None):
        """A per-guild (Slack: per-team) setting, e.g. grids or single covers (server_settings.py)."""
        return await self._db().get_setting(who.platform, who.guild_id, key, default)

    async def set_setting(self, who: Requester, key: str, value) -> None:
        await self._db().set_setting(who.platform, who.guild_id, key, value)

    # -- one request: admitted, looked up, generated in a slot, answered -------------------

    async def _serve(
        self,
        who: Requester,
        on_queued: OnQueued,
        started: float,
        job: Job | Callable[[], Awaitable[Job]],
        existing_id: int | None = None,
        *,
        layout: Layout = SINGLE,
        spread: grids.Spread = grids.reseeded,
        size: int | None = None,
    ) -> CoverResult:
        """Within the queue's limits from the start, a generation slot only to generate: a
        cover whose lookups wait on a slow Spotify (`job` still to be built) holds no slot
        that a ready request needs. A grid's four covers are one request and one generator
        batch. History rows and PNGs (which carry the rows' ids) are made after the slot."""
        user = (who.platform, who.user_id)
        observe.enter("admission")
        async with self.queue.admitted(user):
            if not isinstance(job, Job):
                observe.enter("lookup")
                job = await job()
            jobs = spread(job, await grids.candidate_count(layout, lambda key, d: self.get_setting(who, key, d)))
            observe.enter("queue_wait")
            async with self.queue.slot(user, on_queued):
                observe.enter("generation")
                runner = self.models.runner(job.model_kind)
                info = runner.info  # read with no await before generate binds its engine
                images = await runner.generate_rows(*grids.model_inputs(jobs, info))
            observe.enter("answer", model=info)
            ids = (
                [existing_id]
                if existing_id
                else await self._db().record_generations([j.record(who, info) for j in jobs])
            )
            pngs = await self.pools.render(
                grids.render, jobs, images, ids, info, size or self.config.models.display_size
            )
        observe.served(ids)
        return grids.result(jobs, ids, pngs, info, started, job.source_url, size)

    # -- helpers -------------------------------------------------------------------------

    def _job_from(
        self, rec: GenerationRecord, *, seed: int, latent_steps: tuple[LatentStep, ...], parent_id: int | None
    ) -> Job:
        """A job with a stored generation's inputs (no lookups) and the given latent."""
        source_url = ""
        if rec.kind != "random" and rec.input_ids:
            kind = "track" if rec.kind == "cover" else "album"
            source_url = self.lookups.public_url(SpotifyRef(kind, rec.input_ids[0]))
        return Job.from_record(rec, seed=seed, latent_steps=latent_steps, parent_id=parent_id, source_url=source_url)

    def _db(self) -> Database:
        if self.db is None:
            raise RuntimeError("CoverService.start() has not been awaited")
        return self.db
