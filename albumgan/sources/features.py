"""Audio-feature providers behind one interface, tried in order.

Each provider says which features it `provides` and returns only what it has; the chain
asks the next provider only for tracks still missing something it could supply, and
records which provider gave each value. Any feature may end up missing (the label schema
masks it). Shared by the dataset builder and the bot: no torch here.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TypeGuard

from albumgan.labels import DEFAULT_SCHEMA
from albumgan.sources.errors import Forbidden, RateLimited, Unavailable
from albumgan.sources.reccobeats import DEFAULT_BASE_URL, ReccoBeatsClient
from albumgan.sources.retry import RetryPolicy
from albumgan.sources.spotify import SpotifyCatalog
from albumgan.tables import Table

log = logging.getLogger(__name__)

FEATURE_NAMES: tuple[str, ...] = DEFAULT_SCHEMA.names
AUDIO_FEATURE_NAMES: frozenset[str] = frozenset(FEATURE_NAMES) - {"popularity"}
TRACK_ID_COLUMNS = ("id", "track_id", "spotify_id", "trackid")


class FeatureProvider(Protocol):
    name: str
    provides: frozenset[str]

    def fetch(self, track_ids: list[str]) -> dict[str, dict[str, float]]:
        """Features by track id, only the ones this provider has (unknown ids omitted)."""


@dataclass
class FeatureSet:
    """All schema features of one track (None = missing) and the provider of each value.
    `errors` names providers that failed while this track still needed them."""

    values: dict[str, float | None] = field(default_factory=lambda: dict.fromkeys(FEATURE_NAMES))
    sources: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def missing(self) -> frozenset[str]:
        return frozenset(n for n, v in self.values.items() if v is None)

    def take(self, other: FeatureSet) -> None:
        """Take another set's present values (and their sources) where still missing."""
        for name, value in other.values.items():
            self.fill({name: value}, other.sources.get(name, "known"))

    def fill(self, features: Mapping[str, float | None], source: str) -> None:
        """Take values for features still missing; never overwrite an earlier provider."""
        for name, value in features.items():
            if name in self.values and self.values[name] is None and _is_number(value):
                self.values[name] = float(value)
                self.sources[name] = source


class ProviderChain:
    def __init__(self, providers: Sequence[FeatureProvider], *, on_error: str = "skip"):
        if on_error not in ("skip", "raise"):
            raise ValueError(f"on_error must be 'skip' or 'raise', not {on_error!r}")
        self.providers = list(providers)
        self.on_error = on_error

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.providers]

    def fetch(self, track_ids: Iterable[str], known: Mapping[str, FeatureSet] | None = None) -> dict[str, FeatureSet]:
        """FeatureSets for every id. `known` values (e.g. popularity from a track object
        already at hand) are kept and not asked for again."""
        result = {tid: FeatureSet() for tid in dict.fromkeys(track_ids)}
        for tid, feature_set in (known or {}).items():
            if tid in result:
                result[tid].take(feature_set)
        for provider in self.providers:
            if not getattr(provider, "enabled", True):
                continue
            wanted = [tid for tid, fs in result.items() if fs.missing & provider.provides]
            if not wanted:
                continue
            try:
                found = provider.fetch(wanted)
            except (RateLimited, Unavailable) as exc:
                if self.on_error == "raise":
                    raise
                log.warning("feature provider %s skipped: %s", provider.name, exc)
                for tid in wanted:
                    result[tid].errors[provider.name] = str(exc)
                continue
            for tid, features in found.items():
                if tid in result:
                    result[tid].fill({k: v for k, v in features.items() if k in provider.provides}, provider.name)
        return result


class SpotifyAudioFeatures:
    """Spotify's /audio-features: closed to apps registered since Nov 2024 (403). The
    first 403 turns this provider off for the rest of the run, with one log line."""

    name = "spotify-audio-features"
    provides = AUDIO_FEATURE_NAMES

    def __init__(self, catalog: SpotifyCatalog):
        self.catalog = catalog
        self.enabled = True

    def fetch(self, track_ids: list[str]) -> dict[str, dict[str, float]]:
        if not self.enabled:
            return {}
        try:
            rows = self.catalog.audio_features(track_ids)
        except Forbidden:
            self.enabled = False
            log.warning("Spotify audio-features answered 403 (closed to this app): provider off for this run")
            return {}
        return {tid: _pick(row, self.provides) for tid, row in zip(track_ids, rows, strict=False) if row}


class SpotifyPopularity:
    """`popularity` from Spotify track objects (absent for Feb-2026 development-mode apps)."""

    name = "spotify-popularity"
    provides = frozenset({"popularity"})

    def __init__(self, catalog: SpotifyCatalog):
        self.catalog = catalog

    def fetch(self, track_ids: list[str]) -> dict[str, dict[str, float]]:
        out = {}
        for tid, track in zip(track_ids, self.catalog.tracks(track_ids), strict=True):
            if track and _is_number(track.get("popularity")):
                out[tid] = {"popularity": float(track["popularity"])}
        return out


class ReccoBeats:
    """The nine audio features from ReccoBeats (no popularity in that response)."""

    name = "reccobeats"
    provides = AUDIO_FEATURE_NAMES

    def __init__(self, base_url: str = DEFAULT_BASE_URL, *, client: ReccoBeatsClient | None = None, **client_options):
        self.client = client or ReccoBeatsClient(base_url, **client_options)

    def fetch(self, track_ids: list[str]) -> dict[str, dict[str, float]]:
        return {tid: _pick(item, self.provides) for tid, item in self.client.audio_features(track_ids).items()}


class ReccoBeatsPopularity:
    """`popularity` from ReccoBeats' /v1/track."""

    name = "reccobeats-popularity"
    provides = frozenset({"popularity"})

    def __init__(self, base_url: str = DEFAULT_BASE_URL, *, client: ReccoBeatsClient | None = None, **client_options):
        self.client = client or ReccoBeatsClient(base_url, **client_options)

    def fetch(self, track_ids: list[str]) -> dict[str, dict[str, float]]:
        return {tid: _pick(item, self.provides) for tid, item in self.client.tracks(track_ids).items()}


class LocalFeatures:
    """Features from a table keyed by track id: a dataset directory (its items.csv) or any
    CSV with an id column (`id`, `track_id`, `spotify_id`) and feature-named columns."""

    provides = frozenset(FEATURE_NAMES)

    def __init__(self, path: str | Path, *, name: str = "local"):
        self.path = Path(path)
        self.name = name
        table = self.path / "items.csv" if self.path.is_dir() else self.path
        if not table.is_file():
            raise ValueError(f"local features: {table} does not exist")
        self._rows = _read_feature_table(table)

    def fetch(self, track_ids: list[str]) -> dict[str, dict[str, float]]:
        return {tid: self._rows[tid] for tid in track_ids if tid in self._rows}


PROVIDER_NAMES = ("spotify-audio-features", "spotify-popularity", "reccobeats", "reccobeats-popularity", "local")


def build_providers(
    names: Sequence[str],
    *,
    catalog: SpotifyCatalog | None = None,
    reccobeats_base_url: str = DEFAULT_BASE_URL,
    local_path: str | Path | None = None,
    retry: RetryPolicy | None = None,
    timeout_s: float = 10.0,
) -> list[FeatureProvider]:
    """Providers from config names, in order (see PROVIDER_NAMES). One ReccoBeats client
    is shared by its two providers."""
    providers: list[FeatureProvider] = []
    recco: ReccoBeatsClient | None = None
    for name in names:
        if name not in PROVIDER_NAMES:
            raise ValueError(f"unknown feature provider {name!r} (known: {', '.join(PROVIDER_NAMES)})")
        if name.startswith("spotify") and catalog is None:
            raise ValueError(f"feature provider {name!r} needs a Spotify catalog (credentials)")
        if name.startswith("reccobeats") and recco is None:
            recco = ReccoBeatsClient(reccobeats_base_url, retry=retry, timeout_s=timeout_s)
        if name == "spotify-audio-features" and catalog is not None:  # (None was refused above)
            providers.append(SpotifyAudioFeatures(catalog))
        elif name == "spotify-popularity" and catalog is not None:
            providers.append(SpotifyPopularity(catalog))
        elif name == "reccobeats":
            providers.append(ReccoBeats(client=recco))
        elif name == "reccobeats-popularity":
            providers.append(ReccoBeatsPopularity(client=recco))
        else:
            if local_path is None:
                raise ValueError("feature provider 'local' needs a path (a dataset directory or CSV)")
            providers.append(LocalFeatures(local_path))
    return providers


def _is_number(value: object) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _pick(row: Mapping, names: Iterable[str]) -> dict[str, float]:
    return {n: float(row[n]) for n in names if _is_number(row.get(n))}


def _read_feature_table(path: Path) -> dict[str, dict[str, float]]:
    table = Table(path)
    header, table_rows = table.csv_rows()
    columns = {c.lower().strip(): c for c in header}
    id_column = next((columns[c] for c in TRACK_ID_COLUMNS if c in columns), None)
    if id_column is None:
        raise ValueError(f"local features: {path} has no track id column ({', '.join(TRACK_ID_COLUMNS)})")
    rows: dict[str, dict[str, float]] = {}
    for where, row in table_rows:
        tid = row[id_column].strip()
        if not tid or tid in rows:
            continue
        values = {name: table.feature(where, name, row.get(columns.get(name, ""))) for name in FEATURE_NAMES}
        rows[tid] = {name: value for name, value in values.items() if value is not None}
    return rows
