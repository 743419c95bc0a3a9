"""What a cover is made from, looked up: track and album metadata (the local demo table,
the cache, Spotify) and audio features (the cache, then the provider chain), turned into the
`FeatureReport` people see. Spotify's failures become friendly `UserError` /
`ServiceUnavailable` text here, so the service only composes. Every blocking call runs in
the I/O threads of `WorkPools`, never in the ones that render answers.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from albumgan.bot.config import BotConfig, ConfigError, Secrets
from albumgan.bot.db import Database
from albumgan.bot.local_catalog import LocalCatalog
from albumgan.bot.pools import WorkPools
from albumgan.bot.types import FeatureReport, ServiceUnavailable, UserError
from albumgan.labels import DEFAULT_SCHEMA
from albumgan.links import SpotifyRef
from albumgan.sources import (
    PROVIDER_NAMES,
    FeatureSet,
    NotFound,
    ProviderChain,
    RateLimited,
    RetryPolicy,
    SourceError,
    SpotifyCatalog,
    SpotifyCredentialsRefused,
    build_providers,
    spotify_client,
)

log = logging.getLogger(__name__)

# Refused credentials are the operator's to fix: users are not told to wait for Spotify.
CREDENTIALS_REFUSED = (
    "I can't look up Spotify links right now: Spotify refused my credentials, which my operator "
    "has to fix. /random still works meanwhile."
)


@dataclass
class Features:
    """A track's (or an album's averaged) features: raw values by name, None = missing."""

    values: dict[str, float | None]
    sources: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def present(self) -> bool:
        return any(v is not None for v in self.values.values())


class Lookups:
    def __init__(
        self,
        config: BotConfig,
        *,
        catalog: SpotifyCatalog | None,
        chain: ProviderChain,
        local: LocalCatalog | None,
        pools: WorkPools,
        spotify_note: str = "",
    ) -> None:
        self.config = config
        self.pools = pools
        self.catalog = catalog
        self.chain = chain
        self.local = local
        self.db: Database | None = None  # the cache: the service's database, set at its start
        self.spotify_note = spotify_note  # why Spotify lookups are off, if they are
        self._told_operator = False  # about refused credentials: once is enough
        # Called with a provider's name ("spotify", "reccobeats-popularity", ...) for each lookup
        # it failed: the service counts them (observe.py).
        self.on_provider_error: Callable[[str], None] = lambda provider: None

    @classmethod
    def from_config(cls, config: BotConfig, secrets: Secrets, pools: WorkPools, **given) -> Lookups:
        """From config and secrets; `given` (tests, embedding) may bring catalog, chain, local."""
        spotify_note = ""
        if "catalog" in given:
            catalog = given["catalog"]
        elif secrets.has_spotify:
            sp = config.spotify
            catalog = SpotifyCatalog(
                spotify_client(
                    secrets.spotify_client_id,
                    secrets.spotify_client_secret,
                    api_base=sp.api_base,
                    token_url=sp.token_url,
                    timeout_s=sp.timeout_s,
                ),
                retry=RetryPolicy(max_retry_after_s=sp.max_retry_after_s),
            )
        else:
            catalog = None
        if catalog is None:
            spotify_note = (
                "no Spotify credentials are set (SPOTIPY_CLIENT_ID and "
                "SPOTIPY_CLIENT_SECRET), so only the local tracks in "
                f"{config.features.local_path} can be looked up"
            )
        local = given["local"] if "local" in given else local_catalog(config)
        chain = given.get("chain") or provider_chain(config, catalog, local)
        return cls(config, catalog=catalog, chain=chain, local=local, pools=pools, spotify_note=spotify_note)

    def _db(self) -> Database:
        if self.db is None:
            raise RuntimeError("the lookups have no database: CoverService.start() has not been awaited")
        return self.db

    async def track(self, track_id: str) -> dict:
        if self.local is not None and (track := self.local.track(track_id)):
            return track
        ttl = self.config.features.cache_ttl_s
        cached = await self._db().get_metadata("track", track_id, ttl)
        if cached is not None:
            return cached
        catalog = self._catalog("track")
        track = slim_track(await self._spotify(catalog.track, track_id))
        await self._db().put_metadata("track", track_id, track)
        return track

    async def album_and_tracks(self, album_id: str) -> tuple[dict, list[dict]]:
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
        slim_album = {
            "id": album_id,
            "name": album.get("name", ""),
            "artists": [{"name": a.get("name", "")} for a in album.get("artists") or []],
        }
        slim_tracks = [slim_track(t) for t in tracks if t and t.get("id")][:cap]
        await self._db().put_metadata("album", album_id, {"album": slim_album, "tracks": slim_tracks})
        return slim_album, slim_tracks

    async def features(self, track_ids: list[str], known: dict[str, dict[str, float]]) -> dict[str, Features]:
        """Features by track id: fresh cache entries first, the provider chain for the rest.
        Answers that came with provider errors are not cached: the next ask retries."""
        ttl = self.config.features.cache_ttl_s
        cached = await self._db().get_features(track_ids, ttl)
        out = {tid: Features(values, sources) for tid, (values, sources) in cached.items()}
        needed = [tid for tid in track_ids if tid not in out]
        if not needed:
            return out
        known_sets = {}
        for tid, values in known.items():
            known_sets[tid] = FeatureSet()
            known_sets[tid].fill(values, "spotify track")
        try:
            found = await self.pools.io(self.chain.fetch, needed, known_sets)
        except SourceError as exc:
            log.warning("feature providers failed: %s", exc)
            found = {tid: FeatureSet(errors={"providers": str(exc)}) for tid in needed}
        complete = {}
        failed: set[str] = set()
        for tid in needed:
            feature_set = found.get(tid) or FeatureSet()
            out[tid] = Features(dict(feature_set.values), dict(feature_set.sources), dict(feature_set.errors))
            failed.update(feature_set.errors)
            if not feature_set.errors:
                complete[tid] = (feature_set.values, feature_set.sources)
        for provider in sorted(failed):  # once per lookup, however many tracks it failed
            self.on_provider_error(provider)
        await self._db().put_features(complete)
        return out

    async def _spotify(self, fn: Callable, *args):
        try:
            return await self.pools.io(fn, *args)
        except NotFound as exc:
            raise UserError(
                f"Spotify has no {exc.kind} with id {exc.id}: check the link (copy it again with Share → Copy link)."
            ) from None
        except RateLimited as exc:
            self.on_provider_error("spotify")
            raise ServiceUnavailable(
                f"Spotify asked me to slow down; try again in {_minutes(exc.retry_after_s)}. "
                "/random still works meanwhile."
            ) from None
        except SpotifyCredentialsRefused as exc:
            self.on_provider_error("spotify")
            if not self._told_operator:
                self._told_operator = True
                log.error(
                    "Spotify refused the bot's credentials (%s): set SPOTIPY_CLIENT_ID and SPOTIPY_CLIENT_SECRET "
                    "to the Client ID and Client secret of an app at developer.spotify.com/dashboard and restart; "
                    "until then every Spotify lookup fails",
                    exc.reason,
                )
            raise ServiceUnavailable(CREDENTIALS_REFUSED) from None
        except SourceError as exc:
            self.on_provider_error("spotify")
            log.warning("Spotify lookup failed: %s", exc)
            raise ServiceUnavailable(
                "Spotify isn't answering right now, so I can't look up "
                "that link; try again later. /random still works "
                "meanwhile."
            ) from None

    def _catalog(self, kind: str) -> SpotifyCatalog:
        if self.catalog is not None:
            return self.catalog
        examples = ""
        if self.local is not None and self.local.track_ids:
            ids = self.local.track_ids if kind == "track" else self.local.album_ids
            examples = f" Try a demo {kind}: spotify:{kind}:{ids[0]}"
        raise ServiceUnavailable(f"I can't look up Spotify {kind}s here: {self.spotify_note}.{examples}")

    def public_url(self, ref: SpotifyRef) -> str:
        """The open.spotify.com link, except for local (demo) entries that Spotify lacks."""
        if self.local is not None:
            local = self.local.track(ref.id) if ref.kind == "track" else self.local.album(ref.id)
            if local is not None:
                return ""
        return ref.url


def feature_report(
    features: Features, *, tracks_used: int, tracks_total: int, counts: dict[str, int] | None = None
) -> FeatureReport:
    """The report people see; `counts` (albums) says how many tracks had each feature."""
    names = DEFAULT_SCHEMA.names
    values = {n: features.values.get(n) for n in names}
    missing = [n for n in names if values[n] is None]
    notes = []
    if tracks_total > 1:
        notes.append(
            f"averaged over {tracks_used} of {tracks_total} tracks" + _fewer_tracks_note(counts or {}, tracks_used)
        )
    if len(missing) == len(names):
        notes.append("no audio features found: all masked, so the cover comes from the seed")
    elif missing:
        verb = "is" if len(missing) == 1 else "are"
        notes.append(
            f"{', '.join(missing)} {verb} unknown: masked, the model fills {'it' if len(missing) == 1 else 'them'}"
        )
    if features.errors:
        notes.append(f"{', '.join(sorted(features.errors))} didn't answer")
    return FeatureReport(
        values=values,
        sources=dict(features.sources),
        missing_note="; ".join(notes),
        tracks_used=tracks_used,
        tracks_total=tracks_total,
    )


def _fewer_tracks_note(counts: dict[str, int], tracks_used: int) -> str:
    """ " (9 features from only 6)": features that fewer of the used tracks had."""
    by_count: dict[int, list[str]] = {}
    for name, n in counts.items():
        if 0 < n < tracks_used:
            by_count.setdefault(n, []).append(name)
    parts = [
        f"{', '.join(names) if len(names) <= 2 else f'{len(names)} features'} from only {n}"
        for n, names in sorted(by_count.items(), reverse=True)
    ]
    return f" ({'; '.join(parts)})" if parts else ""


def average(tracks: list[Features]) -> tuple[Features, dict[str, int]]:
    """Mean of each feature over the tracks that have it, and how many had it."""
    values: dict[str, float | None] = {}
    sources: dict[str, str] = {}
    errors: dict[str, str] = {}
    counts: dict[str, int] = {}
    for name in DEFAULT_SCHEMA.names:
        present = [v for t in tracks if (v := t.values.get(name)) is not None]
        values[name] = float(np.mean(present)) if present else None
        counts[name] = len(present)
        providers = Counter(t.sources[name] for t in tracks if name in t.sources)
        if providers:
            sources[name] = "+".join(p for p, _ in providers.most_common())
    for t in tracks:
        errors.update(t.errors)
    return Features(values, sources, errors), counts


def slim_track(track: dict) -> dict:
    """The few fields the bot shows, so the cache does not hold whole API objects."""
    album = track.get("album") or {}
    slim = {
        "id": track.get("id"),
        "name": track.get("name", ""),
        "artists": [{"name": a.get("name", "")} for a in track.get("artists") or []],
        "album": {"id": album.get("id"), "name": album.get("name", "")} if album else None,
    }
    if isinstance(track.get("popularity"), int | float):
        slim["popularity"] = track["popularity"]
    return slim


def artists(obj: dict) -> str:
    names = [a.get("name", "") for a in obj.get("artists") or [] if a.get("name")]
    return ", ".join(names) or "Unknown artist"


def _minutes(seconds: float) -> str:
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    if seconds < 5400:
        return f"{round(seconds / 60)} minutes"
    return f"{seconds / 3600:.0f} hours"


def local_catalog(config: BotConfig) -> LocalCatalog | None:
    if "local" not in config.features.providers:
        return None
    path = config.path(config.features.local_path)
    if not path.is_file():
        log.warning("local feature table %s not found: local tracks are off", path)
        return None
    return LocalCatalog(path)


def provider_chain(config: BotConfig, catalog: SpotifyCatalog | None, local: LocalCatalog | None) -> ProviderChain:
    unknown = [n for n in config.features.providers if n not in PROVIDER_NAMES]
    if unknown:
        raise ConfigError(f"[features] providers: unknown provider {unknown[0]!r} (known: {', '.join(PROVIDER_NAMES)})")
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
            names,
            catalog=catalog,
            reccobeats_base_url=config.features.reccobeats_base,
            local_path=Path(local.path) if local is not None else None,
            retry=RetryPolicy(max_retry_after_s=config.spotify.max_retry_after_s),
            timeout_s=config.features.timeout_s,
        )
    except ValueError as exc:
        raise ConfigError(f"[features] providers: {exc}") from exc
    return ProviderChain(providers)
