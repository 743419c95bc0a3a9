"""The Spotify crawler: seeds -> albums -> tracks and one cover per album -> features from
the provider chain -> cleaning -> the training format.

Every step is recorded in `CrawlState` before the next, so `run()` can be interrupted at
any point (a kill, `RateLimited`, an outage) and called again with the same state to carry
on without duplicates. Read docs/DATASETS.md before crawling: Spotify's Developer Policy
forbids training ML models on Spotify content.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from albumgan.links import spotify_id
from albumgan.sources import NotFound, ProviderChain, SpotifyCatalog
from albumgan.training.data.clean import BuildReport, CleanConfig, SourceRecord, build_dataset
from albumgan.training.data.crawl_state import AlbumRow, CrawlState, TrackRow

log = logging.getLogger(__name__)

DEFAULT_PROVIDERS = ("spotify-audio-features", "spotify-popularity", "reccobeats", "reccobeats-popularity")
SEED_KINDS = ("search", "artist", "album", "track", "playlist")
_LINK_KIND = re.compile(r"^spotify:([a-z]+):|open\.spotify\.com/(?:intl-[a-zA-Z-]+/)?(?:embed/)?([a-z]+)/")


@dataclass
class CrawlConfig:
    seeds: list[str]
    out: Path
    clean: CleanConfig = field(default_factory=CleanConfig)
    search_results: int = 50  # albums per search seed (10 per request)
    max_albums: int | None = None  # stop queueing new albums past this many crawled
    feature_batch: int = 200  # tracks per provider-chain call (and per state commit)
    overwrite: bool = False

    def __post_init__(self):
        if not self.seeds:
            raise ValueError("no seeds: give search queries, artist, album, track or playlist ids")
        for seed in self.seeds:
            parse_seed(seed)
        if not 1 <= self.search_results <= 1010:
            raise ValueError("search_results must be between 1 and 1010 (Spotify's offset cap)")


def parse_seed(text: str) -> tuple[str, str]:
    """`search:<query>`, `<kind>:<id|URI|URL>` or a bare Spotify URI/URL -> (kind, value)."""
    text = text.strip()
    link = _LINK_KIND.search(text)
    if link:
        kind = link.group(1) or link.group(2)
        if kind not in SEED_KINDS:
            raise ValueError(f"seed {text!r}: a Spotify {kind} cannot seed a crawl")
        return kind, spotify_id(text, kind)
    kind, sep, value = text.partition(":")
    if not sep or kind not in SEED_KINDS or not value.strip():
        raise ValueError(f"seed {text!r}: expected search:<query> or one of {', '.join(SEED_KINDS[1:])}:<id>")
    return kind, value.strip() if kind == "search" else spotify_id(value, kind)


class Crawler:
    def __init__(self, config: CrawlConfig, catalog: SpotifyCatalog, state: CrawlState, chain: ProviderChain):
        self.config = config
        self.catalog = catalog
        self.state = state
        self.chain = chain

    def run(self) -> tuple[Path, BuildReport]:
        self.state.add_seeds(self.config.seeds)
        self.expand_seeds()
        self.crawl_albums()
        self.fetch_features()
        return self.build()

    # --- 1. seeds -> album ids -------------------------------------------------------
    def expand_seeds(self) -> None:
        for seed, cursor in self.state.pending_seeds():
            kind, value = parse_seed(seed)
            try:
                if kind == "search":
                    self._expand_search(seed, value, cursor)
                    continue
                album_ids = self._albums_of(kind, value)
            except NotFound as exc:
                log.warning("seed %s: %s; skipped", seed, exc)
                album_ids = []
            self.state.advance_seed(seed, album_ids, 0, done=True)

    def _albums_of(self, kind: str, value: str) -> list[str]:
        if kind == "album":
            return [value]
        if kind == "artist":
            return [a["id"] for a in self.catalog.artist_albums(value)]
        if kind == "track":
            return [self.catalog.track(value)["album"]["id"]]
        return list(dict.fromkeys(t["album"]["id"] for t in self.catalog.playlist_tracks(value) if t.get("album")))

    def _expand_search(self, seed: str, query: str, cursor: int) -> None:
        target = self.config.search_results
        while cursor < target:
            page = self.catalog.search(query, "album", limit=min(10, target - cursor), offset=cursor)
            items = [i for i in page.get("items") or [] if i]
            cursor += len(page.get("items") or [])
            done = not items or not page.get("next") or cursor >= target
            self.state.advance_seed(seed, [i["id"] for i in items], cursor, done)
            if done:
                return
        self.state.advance_seed(seed, [], cursor, True)

    # --- 2. albums -> tracks and covers ----------------------------------------------
    def crawl_albums(self) -> None:
        pending = self.state.pending_albums()
        if self.config.max_albums is not None:
            crawled = sum(self.state.album_counts().values()) - len(pending)
            pending = pending[: max(0, self.config.max_albums - crawled)]
        bar = tqdm(pending, desc="albums", unit="album", disable=None)
        for album_id in bar:
            self._crawl_album(album_id)
            counts = self.state.album_counts()
            bar.set_postfix(tracks=self.state.count_tracks(), covers=self.state.count_images(), failed=counts.get("failed", 0))
        bar.close()

    def _crawl_album(self, album_id: str) -> None:
        try:
            album = self.catalog.album(album_id)
            tracks = self.catalog.album_tracks(album_id, first_page=album.get("tracks"))
            image = widest_image(album.get("images") or [])
            if image is None:
                self.state.fail_album(album_id, "no cover image")
                return
            sha = self.state.store_image(self.catalog.download(image["url"]), image["url"])
        except NotFound as exc:
            log.info("album %s skipped: %s", album_id, exc)
            self.state.fail_album(album_id, str(exc))
            return
        artists = ", ".join(a.get("name", "") for a in album.get("artists") or [])
        year = str(album.get("release_date") or "")[:4]
        row = AlbumRow(album_id, album.get("name") or "", artists, int(year) if year.isdigit() else None, sha)
        track_rows = [
            TrackRow(t["id"], album_id, t.get("name") or "", ", ".join(a.get("name", "") for a in t.get("artists") or []), {}, {})
            for t in tracks
            if t and t.get("id")
        ]
        self.state.finish_album(row, track_rows)

    # --- 3. features -----------------------------------------------------------------
    def fetch_features(self) -> None:
        todo = self.state.count_tracks(features_done=False)
        bar = tqdm(total=todo, desc="features", unit="track", disable=None)
        while batch := self.state.tracks_needing_features(self.config.feature_batch):
            found = self.chain.fetch([t.id for t in batch])
            self.state.save_features({tid: (fs.values, fs.sources) for tid, fs in found.items()})
            bar.update(len(batch))
        bar.close()

    # --- 4. the dataset --------------------------------------------------------------
    def records(self) -> list[SourceRecord]:
        out = []
        for album in self.state.done_albums():
            for track in self.state.album_tracks(album.id):
                out.append(
                    SourceRecord(
                        id=track.id,
                        image_key=album.image_sha256,
                        cover_id=album.id,
                        track_name=track.name,
                        album_name=album.name,
                        artists=track.artists or album.artists,
                        release_year=album.release_year,
                        origin=f"spotify:album:{album.id}",
                        features=track.features,
                        sources=track.sources,
                    )
                )
        return out

    def build(self) -> tuple[Path, BuildReport]:
        provenance = {
            "builder": "albumgan-data crawl",
            "source": "Spotify Web API crawl (catalogue, covers) and audio-feature providers",
            "seeds": self.config.seeds,
            "feature_providers": self.chain.names,
            "policy": "Spotify's Developer Policy forbids using Spotify content to train ML models: see docs/DATASETS.md",
        }
        return build_dataset(
            self.records(),
            self.state.load_image,
            self.config.out,
            self.config.clean,
            provenance=provenance,
            overwrite=self.config.overwrite,
            progress=tqdm_progress,
        )


def widest_image(images: list[dict]) -> dict | None:
    """The widest cover (Spotify lists them widest first; don't rely on it)."""
    usable = [i for i in images if i and i.get("url")]
    return max(usable, key=lambda i: i.get("width") or 0, default=None)


def tqdm_progress(iterator: Iterator, total: int, desc: str) -> Iterator:
    return tqdm(iterator, total=total, desc=desc, unit="image", disable=None)

