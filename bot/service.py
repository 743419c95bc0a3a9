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
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bot.cards import render_features_card
from bot.config import BotConfig, ConfigError, Secrets
from bot.db import Database, GenerationRecord, LatentStep
from bot.engine import Engine, ModelError, ModelInfo, ModelRunner
from bot.imaging import to_png, upscale
from bot.links import LinkResolver, SpotifyRef
from bot.local_catalog import LocalCatalog
from bot.queue import FairQueue
from bot.types import CoverResult, FeatureReport, Requester, ServiceUnavailable, UserError
from training.labels import DEFAULT_SCHEMA
from training.latent import latents_from_seeds, perturb
from training.sources import (
    PROVIDER_NAMES,
    FeatureSet,
    NotFound,
    ProviderChain,
    RateLimited,
    RetryPolicy,
    SourceError,
    SpotifyCatalog,
    build_providers,
    spotify_client,
)

log = logging.getLogger(__name__)

OnQueued = Callable[[int], Awaitable[None]] | None
SEED_LIMIT = 2**32
# Which model serves which kind of cover, and how people know it.
MODEL_FOR = {"cover": "acgan", "album": "acgan", "random": "unconditional"}
MODEL_LABEL = {"acgan": "audio-feature (ACGAN)", "unconditional": "random-cover"}
COMMANDS_FOR = {"acgan": "/cover and /album", "unconditional": "/random"}


@dataclass
class _Features:
    values: dict[str, float | None]
    sources: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def present(self) -> bool:
        return any(v is not None for v in self.values.values())


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
    def __init__(self, config: BotConfig, *, catalog: SpotifyCatalog | None,
                 chain: ProviderChain, local: LocalCatalog | None, resolver: LinkResolver,
                 queue: FairQueue, runners: dict[str, ModelRunner] | None = None,
                 spotify_note: str = "") -> None:
        self.config = config
        self.catalog = catalog
        self.chain = chain
        self.local = local
        self.resolver = resolver
        self.queue = queue
        self._given_runners = runners
        self.runners: dict[str, ModelRunner] = {}
        self.model_problems: dict[str, str] = {}  # model kind -> why it is not installed
        self.spotify_note = spotify_note  # why Spotify lookups are off, if they are
        self.db: Database | None = None
        self._stamps: dict[str, tuple[int, int] | None] = {}  # model kind -> file (mtime, size)
        self._watcher: asyncio.Task | None = None

    # -- construction and lifecycle ----------------------------------------------------

    @classmethod
    def from_config(cls, config: BotConfig, **overrides) -> CoverService:
        """Build from config and env secrets. Overrides (tests, embedding): secrets, catalog,
        chain, local, resolver, queue, runners."""
        secrets: Secrets = overrides.pop("secrets", None) or Secrets.from_env()
        spotify_note = ""
        if "catalog" in overrides:
            catalog = overrides.pop("catalog")
        elif secrets.has_spotify:
            sp = config.spotify
            catalog = SpotifyCatalog(
                spotify_client(secrets.spotify_client_id, secrets.spotify_client_secret,
                               api_base=sp.api_base, token_url=sp.token_url,
                               timeout_s=sp.timeout_s),
                retry=RetryPolicy(max_retry_after_s=sp.max_retry_after_s))
        else:
            catalog = None
        if catalog is None:
            spotify_note = ("no Spotify credentials are set (SPOTIPY_CLIENT_ID and "
                            "SPOTIPY_CLIENT_SECRET), so only the local tracks in "
                            f"{config.features.local_path} can be looked up")
        local = overrides.pop("local") if "local" in overrides else _local_catalog(config)
        chain = overrides.pop("chain", None) or _provider_chain(config, catalog, local)
        resolver = overrides.pop("resolver", None) or LinkResolver(
            short_link_base=config.spotify.short_link_base,
            timeout_s=config.spotify.short_link_timeout_s)
        limits = config.limits
        queue = overrides.pop("queue", None) or FairQueue(
            max_size=limits.queue_size, per_user=limits.per_user_queued,
            cooldown_s=limits.cooldown_s, workers=limits.workers)
        runners = overrides.pop("runners", None)
        if overrides:
            raise TypeError(f"unknown CoverService overrides: {', '.join(sorted(overrides))}")
        return cls(config, catalog=catalog, chain=chain, local=local, resolver=resolver,
                   queue=queue, runners=runners, spotify_note=spotify_note)

    async def start(self) -> None:
        """Open the database and load the models. A missing model is not fatal: the
        commands it serves say it is not installed, the others keep working."""
        self.db = await Database.open(self.config.path(self.config.database.path))
        if self._given_runners is not None:
            self.runners = dict(self._given_runners)
        else:
            for kind in MODEL_LABEL:
                await self._install(kind)
            if self.config.models.reload_check_s > 0:
                self._watcher = asyncio.create_task(self._watch_models(), name="albumgan-model-watch")
        for kind, problem in self.model_problems.items():
            log.warning("%s unavailable: %s", COMMANDS_FOR[kind], problem)

    def _model_path(self, kind: str) -> tuple[str, Path]:
        configured = getattr(self.config.models, kind)
        return configured, self.config.path(configured)

    async def _install(self, kind: str) -> None:
        """Load the configured model file for `kind`, or record why it can't serve."""
        configured, path = self._model_path(kind)
        self._stamps[kind] = _file_stamp(path)
        try:
            runner = await asyncio.to_thread(
                ModelRunner, path, max_batch=self.config.limits.max_batch)
        except ModelError as exc:
            self.model_problems[kind] = self._model_problem(kind, configured, path, exc)
            return
        if runner.info.kind != kind:
            await runner.close()
            self.model_problems[kind] = (
                f"{configured} is a {runner.info.kind} model, but [models] {kind} needs "
                f"an {kind} one")
            return
        self.runners[kind] = runner
        self.model_problems.pop(kind, None)

    @staticmethod
    def _model_problem(kind: str, configured: str, path: Path, exc: ModelError) -> str:
        # name the file as configured: people know that path, and chat users need not
        # see the server's folders
        problem = str(exc).replace(str(path), configured)
        return (f"{problem}; train and export one (albumgan-train, then albumgan-export) "
                f"or set [models] {kind} in bot.toml")

    async def reload_models(self) -> dict[str, str]:
        """Re-read the configured model files without downtime: a replaced file takes over
        for new requests (requests in flight finish on the old model), a new file installs a
        missing model, and a broken or wrong-kind file leaves the running model serving.
        Returns what happened, per model kind."""
        outcome: dict[str, str] = {}
        for kind in MODEL_LABEL:
            configured, path = self._model_path(kind)
            self._stamps[kind] = _file_stamp(path)
            runner = self.runners.get(kind)
            if runner is None:
                await self._install(kind)
                outcome[kind] = ("installed " + self.runners[kind].info.version if kind in self.runners
                                 else "still unavailable: " + self.model_problems[kind])
                continue
            try:
                candidate = await asyncio.to_thread(Engine.load, path)
                if candidate.info.kind != kind:
                    raise ModelError(f"{path}: is a {candidate.info.kind} model, not {kind}")
                info = await runner.reload(path)
            except ModelError as exc:
                outcome[kind] = f"kept {runner.info.version}: {exc}".replace(str(path), configured)
                log.error("model reload refused, %s keeps serving %s: %s", COMMANDS_FOR[kind],
                          runner.info.version, str(exc).replace(str(path), configured))
                continue
            outcome[kind] = f"now serving {info.name} {info.version}"
        return outcome

    async def _watch_models(self) -> None:
        """Poll the model files; reload when one is replaced (export writes atomically)."""
        while True:
            await asyncio.sleep(self.config.models.reload_check_s)
            changed = [k for k in MODEL_LABEL if _file_stamp(self._model_path(k)[1]) != self._stamps.get(k)]
            if changed:
                for kind, what in (await self.reload_models()).items():
                    log.info("model reload: %s %s", kind, what)

    async def close(self) -> None:
        """Finish admitted requests, then release models, HTTP sessions and the database."""
        if self._watcher is not None:
            self._watcher.cancel()
            self._watcher = None
        await self.queue.close()
        for runner in self.runners.values():
            await runner.close()
        await self.resolver.close()
        if self.db is not None:
            await self.db.close()
            self.db = None

    # -- the commands --------------------------------------------------------------------

    async def cover(self, link: str, who: Requester, *, seed: int | None = None,
                    on_queued: OnQueued = None) -> CoverResult:
        started = time.perf_counter()
        seed = _check_seed(seed)
        ref = await self.resolver.resolve(link, "track")
        self._runner("acgan")
        return await self._queued(who, on_queued, lambda: self._cover(ref, link, seed, who,
                                                                      started))

    async def album(self, link: str, who: Requester, *, seed: int | None = None,
                    on_queued: OnQueued = None) -> CoverResult:
        started = time.perf_counter()
        seed = _check_seed(seed)
        ref = await self.resolver.resolve(link, "album")
        self._runner("acgan")
        return await self._queued(who, on_queued, lambda: self._album(ref, link, seed, who,
                                                                      started))

    async def random(self, who: Requester, *, seed: int | None = None,
                     on_queued: OnQueued = None) -> CoverResult:
        started = time.perf_counter()
        self._runner("unconditional")
        seed = _check_seed(seed)
        job = _Job(kind="random", title="Random cover", subtitle=f"seed {seed}", seed=seed)
        return await self._queued(who, on_queued, lambda: self._make(job, who, started))

    async def reroll(self, generation_id: int, who: Requester, *,
                     on_queued: OnQueued = None) -> CoverResult:
        """Same inputs, new seed."""
        started = time.perf_counter()
        rec = await self._history(generation_id)
        self._runner(rec.model_kind)
        job = self._job_from(rec, seed=_check_seed(None), latent_steps=(), parent_id=rec.id)
        return await self._queued(who, on_queued, lambda: self._make(job, who, started))

    async def variation(self, generation_id: int, who: Requester, *,
                        on_queued: OnQueued = None) -> CoverResult:
        """Same inputs, the latent nudged a little (a new perturbation on top of the old)."""
        started = time.perf_counter()
        rec = await self._history(generation_id)
        self._runner(rec.model_kind)
        step = LatentStep(_check_seed(None), self.config.models.variation_strength)
        job = self._job_from(rec, seed=rec.seed, latent_steps=(*rec.latent_steps, step),
                        parent_id=rec.id)
        return await self._queued(who, on_queued, lambda: self._make(job, who, started))

    async def remake(self, generation_id: int, who: Requester, *,
                     on_queued: OnQueued = None) -> CoverResult:
        """The exact image of an earlier generation, from its stored inputs (no new row)."""
        started = time.perf_counter()
        rec = await self._history(generation_id)
        runner = self._runner(rec.model_kind)
        if runner.info.sha256 != rec.model_sha256:
            raise UserError(
                f"Cover #{rec.id} was made by {rec.model_name} {rec.model_version}, which is no "
                f"longer installed (now {runner.info.name} {runner.info.version}); "
                "use Reroll or Variations instead.")
        job = self._job_from(rec, seed=rec.seed, latent_steps=tuple(rec.latent_steps),
                        parent_id=rec.parent_id)
        return await self._queued(who, on_queued,
                                  lambda: self._make(job, who, started, existing_id=rec.id))

    async def about(self) -> list[ModelInfo]:
        return [runner.info for runner in self.runners.values()]

    async def get_setting(self, who: Requester, key: str, default=None):
        """A per-guild (Slack: per-team) setting, e.g. a frontend's display preference."""
        return await self._db().get_setting(who.platform, who.guild_id, key, default)

    async def set_setting(self, who: Requester, key: str, value) -> None:
        await self._db().set_setting(who.platform, who.guild_id, key, value)

    # -- request bodies (run while holding a queue slot) -----------------------------------

    async def _cover(self, ref: SpotifyRef, link: str, seed: int, who: Requester,
                     started: float) -> CoverResult:
        track = await self._track(ref.id)
        known = {}
        if isinstance(track.get("popularity"), int | float):
            known[ref.id] = {"popularity": float(track["popularity"])}
        features = (await self._features([ref.id], known))[ref.id]
        report = _report(features, tracks_used=int(features.present), tracks_total=1)
        job = self._conditioned_job(
            "cover", report, title=track.get("name") or "Untitled track",
            subtitle=_artists(track), seed=seed, input_link=link, input_ids=(ref.id,),
            source_url=self._public_url(ref))
        return await self._make(job, who, started)

    async def _album(self, ref: SpotifyRef, link: str, seed: int, who: Requester,
                     started: float) -> CoverResult:
        album, tracks = await self._album_and_tracks(ref.id)
        ids = [t["id"] for t in tracks if t.get("id")]
        if not ids:
            raise UserError("That album has no tracks I can read, so there is nothing to "
                            "average. Try a single track with /cover.")
        per_track = await self._features(ids, {})
        averaged, counts = _average(list(per_track.values()))
        used = sum(1 for f in per_track.values() if f.present)
        report = _report(averaged, tracks_used=used, tracks_total=len(ids), counts=counts)
        job = self._conditioned_job(
            "album", report, title=album.get("name") or "Untitled album",
            subtitle=_artists(album), seed=seed, input_link=link, input_ids=(ref.id, *ids),
            source_url=self._public_url(ref))
        return await self._make(job, who, started)

    def _conditioned_job(self, kind: str, report: FeatureReport, **fields) -> _Job:
        labels, mask = self._runner("acgan").info.encode(report.values)
        return _Job(kind=kind, report=report, labels=labels.tolist(), mask=mask.tolist(),
                    **fields)

    async def _make(self, job: _Job, who: Requester, started: float,
                    existing_id: int | None = None) -> CoverResult:
        model_kind = MODEL_FOR[job.kind]
        runner = self._runner(model_kind)
        info = runner.info
        z = latent_for(info, job.seed, job.latent_steps)
        if job.labels is None:
            image = await runner.generate(z)
        else:
            image = await runner.generate(z, np.asarray(job.labels, np.float32),
                                          np.asarray(job.mask, np.float32))
        image_png, card_png = await asyncio.to_thread(self._render, job, image)
        generation_id = existing_id
        if generation_id is None:
            generation_id = await self._db().add_generation(GenerationRecord(
                platform=who.platform, user_id=who.user_id, channel_id=who.channel_id,
                guild_id=who.guild_id, kind=job.kind, parent_id=job.parent_id,
                input_link=job.input_link[:500], input_ids=list(job.input_ids),
                title=job.title, subtitle=job.subtitle,
                features=_report_to_json(job.report), labels=job.labels, mask=job.mask,
                seed=job.seed, latent_steps=list(job.latent_steps), model_kind=info.kind,
                model_name=info.name, model_version=info.version, model_sha256=info.sha256))
        subtitle = job.subtitle
        if job.latent_steps:
            subtitle = f"{subtitle} · variation {len(job.latent_steps)}"
        return CoverResult(
            generation_id=generation_id, kind=job.kind, title=job.title, subtitle=subtitle,
            image_png=image_png, card_png=card_png, seed=job.seed, model_name=info.name,
            model_version=info.version, features=job.report, source_url=job.source_url,
            elapsed_s=time.perf_counter() - started)

    def _render(self, job: _Job, image: np.ndarray) -> tuple[bytes, bytes | None]:
        image_png = to_png(upscale(image, self.config.models.display_size))
        if job.report is None:
            return image_png, None
        report = job.report
        card = render_features_card(report.values, title=job.title, subtitle=job.subtitle,
                                    sources=report.sources, note=report.missing_note)
        return image_png, card

    # -- lookups -------------------------------------------------------------------------

    async def _track(self, track_id: str) -> dict:
        if self.local is not None and (track := self.local.track(track_id)):
            return track
        ttl = self.config.features.cache_ttl_s
        cached = await self._db().get_metadata("track", track_id, ttl)
        if cached is not None:
            return cached
        catalog = self._catalog("track")
        track = _slim_track(await self._spotify(catalog.track, track_id))
        await self._db().put_metadata("track", track_id, track)
        return track

    async def _album_and_tracks(self, album_id: str) -> tuple[dict, list[dict]]:
        cap = self.config.limits.max_album_tracks
        if self.local is not None and (album := self.local.album(album_id)):
            return album, self.local.album_tracks(album_id)[:cap]
        cached = await self._db().get_metadata("album", album_id, self.config.features.cache_ttl_s)
        if cached is not None:
            return cached["album"], cached["tracks"]
        catalog = self._catalog("album")

        def fetch() -> tuple[dict, list[dict]]:
            album = catalog.album(album_id)
            return album, catalog.album_tracks(album_id, first_page=album.get("tracks"))

        album, tracks = await self._spotify(fetch)
        slim_album = {"id": album_id, "name": album.get("name", ""),
                      "artists": [{"name": a.get("name", "")} for a in album.get("artists") or []]}
        slim_tracks = [_slim_track(t) for t in tracks if t and t.get("id")][:cap]
        await self._db().put_metadata("album", album_id,
                                      {"album": slim_album, "tracks": slim_tracks})
        return slim_album, slim_tracks

    async def _features(self, track_ids: list[str], known: dict[str, dict[str, float]]
                        ) -> dict[str, _Features]:
        """Features by track id: fresh cache entries first, the provider chain for the rest.
        Answers that came with provider errors are not cached: the next ask retries."""
        ttl = self.config.features.cache_ttl_s
        cached = await self._db().get_features(track_ids, ttl)
        out = {tid: _Features(values, sources) for tid, (values, sources) in cached.items()}
        needed = [tid for tid in track_ids if tid not in out]
        if not needed:
            return out
        known_sets = {}
        for tid, values in known.items():
            known_sets[tid] = FeatureSet()
            known_sets[tid].fill(values, "spotify track")
        try:
            found = await asyncio.to_thread(self.chain.fetch, needed, known_sets)
        except SourceError as exc:
            log.warning("feature providers failed: %s", exc)
            found = {tid: FeatureSet(errors={"providers": str(exc)}) for tid in needed}
        complete = {}
        for tid in needed:
            feature_set = found.get(tid) or FeatureSet()
            out[tid] = _Features(dict(feature_set.values), dict(feature_set.sources),
                                 dict(feature_set.errors))
            if not feature_set.errors:
                complete[tid] = (feature_set.values, feature_set.sources)
        await self._db().put_features(complete)
        return out

    async def _spotify(self, fn: Callable, *args):
        try:
            return await asyncio.to_thread(fn, *args)
        except NotFound as exc:
            raise UserError(f"Spotify has no {exc.kind} with id {exc.id}: check the link "
                            "(copy it again with Share → Copy link).") from None
        except RateLimited as exc:
            raise ServiceUnavailable(
                f"Spotify asked me to slow down; try again in {_minutes(exc.retry_after_s)}. "
                "/random still works meanwhile.") from None
        except SourceError as exc:
            log.warning("Spotify lookup failed: %s", exc)
            raise ServiceUnavailable("Spotify isn't answering right now, so I can't look up "
                                     "that link; try again later. /random still works "
                                     "meanwhile.") from None

    def _catalog(self, kind: str) -> SpotifyCatalog:
        if self.catalog is not None:
            return self.catalog
        examples = ""
        if self.local is not None and self.local.track_ids:
            ids = self.local.track_ids if kind == "track" else self.local.album_ids
            examples = f" Try a demo {kind}: spotify:{kind}:{ids[0]}"
        raise ServiceUnavailable(f"I can't look up Spotify {kind}s here: {self.spotify_note}."
                                 f"{examples}")

    # -- helpers -------------------------------------------------------------------------

    async def _queued(self, who: Requester, on_queued: OnQueued,
                      body: Callable[[], Awaitable[CoverResult]]) -> CoverResult:
        return await self.queue.run((who.platform, who.user_id), body, on_queued)

    def _runner(self, kind: str) -> ModelRunner:
        runner = self.runners.get(kind)
        if runner is not None:
            return runner
        problem = self.model_problems.get(kind, "it was not loaded")
        raise ServiceUnavailable(f"{COMMANDS_FOR[kind]} can't run here: the "
                                 f"{MODEL_LABEL[kind]} model isn't installed ({problem})")

    def _job_from(self, rec: GenerationRecord, *, seed: int,
                  latent_steps: tuple[LatentStep, ...], parent_id: int | None) -> _Job:
        """A job with a stored generation's inputs (no lookups) and the given latent."""
        source_url = ""
        if rec.kind != "random" and rec.input_ids:
            kind = "track" if rec.kind == "cover" else "album"
            source_url = self._public_url(SpotifyRef(kind, rec.input_ids[0]))
        return _Job(
            kind=rec.kind, title=rec.title,
            subtitle=f"seed {seed}" if rec.kind == "random" else rec.subtitle, seed=seed,
            latent_steps=latent_steps, labels=rec.labels, mask=rec.mask,
            report=_report_from_json(rec.features), input_link=rec.input_link,
            input_ids=tuple(rec.input_ids), source_url=source_url, parent_id=parent_id)

    def _public_url(self, ref: SpotifyRef) -> str:
        """The open.spotify.com link, except for local (demo) entries that Spotify lacks."""
        if self.local is not None:
            local = self.local.track(ref.id) if ref.kind == "track" else self.local.album(ref.id)
            if local is not None:
                return ""
        return ref.url

    async def _history(self, generation_id: int) -> GenerationRecord:
        rec = await self._db().get_generation(int(generation_id))
        if rec is None:
            raise UserError(f"I have no cover #{generation_id} in my history; it may come "
                            "from another install of this bot.")
        return rec

    def _db(self) -> Database:
        if self.db is None:
            raise RuntimeError("CoverService.start() has not been awaited")
        return self.db


def _file_stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


def latent_for(info: ModelInfo, seed: int, steps: tuple[LatentStep, ...] | list[LatentStep]
               ) -> np.ndarray:
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


def _report(features: _Features, *, tracks_used: int, tracks_total: int,
            counts: dict[str, int] | None = None) -> FeatureReport:
    """The report people see; `counts` (albums) says how many tracks had each feature."""
    names = DEFAULT_SCHEMA.names
    values = {n: features.values.get(n) for n in names}
    missing = [n for n in names if values[n] is None]
    notes = []
    if tracks_total > 1:
        notes.append(f"averaged over {tracks_used} of {tracks_total} tracks"
                     + _fewer_tracks_note(counts or {}, tracks_used))
    if len(missing) == len(names):
        notes.append("no audio features found: all masked, so the cover comes from the seed")
    elif missing:
        verb = "is" if len(missing) == 1 else "are"
        notes.append(f"{', '.join(missing)} {verb} unknown: masked, the model fills "
                     f"{'it' if len(missing) == 1 else 'them'}")
    if features.errors:
        notes.append(f"{', '.join(sorted(features.errors))} didn't answer")
    return FeatureReport(values=values, sources=dict(features.sources),
                         missing_note="; ".join(notes), tracks_used=tracks_used,
                         tracks_total=tracks_total)


def _fewer_tracks_note(counts: dict[str, int], tracks_used: int) -> str:
    """" (9 features from only 6)": features that fewer of the used tracks had."""
    by_count: dict[int, list[str]] = {}
    for name, n in counts.items():
        if 0 < n < tracks_used:
            by_count.setdefault(n, []).append(name)
    parts = [f"{', '.join(names) if len(names) <= 2 else f'{len(names)} features'} from only {n}"
             for n, names in sorted(by_count.items(), reverse=True)]
    return f" ({'; '.join(parts)})" if parts else ""


def _average(tracks: list[_Features]) -> tuple[_Features, dict[str, int]]:
    """Mean of each feature over the tracks that have it, and how many had it."""
    values: dict[str, float | None] = {}
    sources: dict[str, str] = {}
    errors: dict[str, str] = {}
    counts: dict[str, int] = {}
    for name in DEFAULT_SCHEMA.names:
        present = [t.values.get(name) for t in tracks if t.values.get(name) is not None]
        values[name] = float(np.mean(present)) if present else None
        counts[name] = len(present)
        providers = Counter(t.sources[name] for t in tracks if name in t.sources)
        if providers:
            sources[name] = "+".join(p for p, _ in providers.most_common())
    for t in tracks:
        errors.update(t.errors)
    return _Features(values, sources, errors), counts


def _report_to_json(report: FeatureReport | None) -> dict | None:
    return None if report is None else dataclasses.asdict(report)


def _report_from_json(data: dict | None) -> FeatureReport | None:
    return None if data is None else FeatureReport(**data)


def _slim_track(track: dict) -> dict:
    """The few fields the bot shows, so the cache does not hold whole API objects."""
    album = track.get("album") or {}
    slim = {"id": track.get("id"), "name": track.get("name", ""),
            "artists": [{"name": a.get("name", "")} for a in track.get("artists") or []],
            "album": {"id": album.get("id"), "name": album.get("name", "")} if album else None}
    if isinstance(track.get("popularity"), int | float):
        slim["popularity"] = track["popularity"]
    return slim


def _artists(obj: dict) -> str:
    names = [a.get("name", "") for a in obj.get("artists") or [] if a.get("name")]
    return ", ".join(names) or "Unknown artist"


def _minutes(seconds: float) -> str:
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    if seconds < 5400:
        return f"{round(seconds / 60)} minutes"
    return f"{seconds / 3600:.0f} hours"


def _local_catalog(config: BotConfig) -> LocalCatalog | None:
    if "local" not in config.features.providers:
        return None
    path = config.path(config.features.local_path)
    if not path.is_file():
        log.warning("local feature table %s not found: local tracks are off", path)
        return None
    return LocalCatalog(path)


def _provider_chain(config: BotConfig, catalog: SpotifyCatalog | None,
                    local: LocalCatalog | None) -> ProviderChain:
    unknown = [n for n in config.features.providers if n not in PROVIDER_NAMES]
    if unknown:
        raise ConfigError(f"[features] providers: unknown provider {unknown[0]!r} "
                          f"(known: {', '.join(PROVIDER_NAMES)})")
    names = []
    for name in config.features.providers:
        if name != "local" and catalog is None:
            # Without Spotify only local tracks can be looked up, and their features are
            # local too: asking network providers about them would only add latency.
            continue
        if name == "local" and local is None:
            continue
        names.append(name)
    try:
        providers = build_providers(
            names, catalog=catalog, reccobeats_base_url=config.features.reccobeats_base,
            local_path=Path(local.path) if local is not None else None,
            retry=RetryPolicy(max_retry_after_s=config.spotify.max_retry_after_s),
            timeout_s=config.features.timeout_s)
    except ValueError as exc:
        raise ConfigError(f"[features] providers: {exc}") from exc
    return ProviderChain(providers)
