"""Resumable crawl state in SQLite. Every step commits before the next begins, so a crawl
killed at any point restarts where it stopped: seeds remember their search offset, albums
are `pending` until their tracks and cover are stored in one transaction, and tracks
remember whether their features were fetched. Cover bytes live in files named by their
SHA-256 next to the database (written atomically), so a cover shared by albums is kept once.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from albumgan.atomic import write_bytes

SCHEMA = """
CREATE TABLE IF NOT EXISTS seeds (
    seed TEXT PRIMARY KEY, position INTEGER NOT NULL,
    done INTEGER NOT NULL DEFAULT 0, cursor INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS albums (
    n INTEGER PRIMARY KEY, id TEXT UNIQUE NOT NULL, status TEXT NOT NULL DEFAULT 'pending',
    name TEXT, artists TEXT, release_year INTEGER, image_sha256 TEXT, error TEXT);
CREATE TABLE IF NOT EXISTS tracks (
    n INTEGER PRIMARY KEY, id TEXT UNIQUE NOT NULL, album_id TEXT NOT NULL, name TEXT,
    artists TEXT, features TEXT, sources TEXT, features_done INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS images (sha256 TEXT PRIMARY KEY, url TEXT, bytes INTEGER NOT NULL);
"""


@dataclass
class TrackRow:
    id: str
    album_id: str
    name: str
    artists: str
    features: dict[str, float | None]
    sources: dict[str, str]


@dataclass
class AlbumRow:
    id: str
    name: str
    artists: str
    release_year: int | None
    image_sha256: str


class CrawlState:
    def __init__(self, path: str | Path, images_dir: str | Path | None = None):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.images_dir = Path(images_dir) if images_dir else self.path.with_name(self.path.stem + "-images")
        self.images_dir.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> CrawlState:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- seeds -----------------------------------------------------------------------
    def add_seeds(self, seeds: list[str]) -> None:
        with self.db:
            start = self.db.execute("SELECT COALESCE(MAX(position), -1) + 1 FROM seeds").fetchone()[0]
            for i, seed in enumerate(seeds):
                self.db.execute("INSERT OR IGNORE INTO seeds(seed, position) VALUES (?, ?)", (seed, start + i))

    def pending_seeds(self) -> list[tuple[str, int]]:
        return self.db.execute("SELECT seed, cursor FROM seeds WHERE done = 0 ORDER BY position").fetchall()

    def advance_seed(self, seed: str, album_ids: list[str], cursor: int, done: bool) -> None:
        """Queue albums found by a seed and move its cursor, in one transaction."""
        with self.db:
            self.db.executemany("INSERT OR IGNORE INTO albums(id) VALUES (?)", [(a,) for a in album_ids])
            self.db.execute("UPDATE seeds SET cursor = ?, done = ? WHERE seed = ?", (cursor, int(done), seed))

    # --- albums ----------------------------------------------------------------------
    def pending_albums(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT id FROM albums WHERE status = 'pending' ORDER BY n")]

    def album_counts(self) -> dict[str, int]:
        return dict(self.db.execute("SELECT status, COUNT(*) FROM albums GROUP BY status").fetchall())

    def finish_album(self, album: AlbumRow, tracks: list[TrackRow]) -> None:
        with self.db:
            self.db.executemany(
                "INSERT OR IGNORE INTO tracks(id, album_id, name, artists, features, sources) VALUES (?, ?, ?, ?, ?, ?)",
                [(t.id, t.album_id, t.name, t.artists, json.dumps(t.features), json.dumps(t.sources)) for t in tracks],
            )
            self.db.execute(
                "UPDATE albums SET status = 'done', name = ?, artists = ?, release_year = ?, image_sha256 = ? WHERE id = ?",
                (album.name, album.artists, album.release_year, album.image_sha256, album.id),
            )

    def fail_album(self, album_id: str, error: str) -> None:
        with self.db:
            self.db.execute("UPDATE albums SET status = 'failed', error = ? WHERE id = ?", (error, album_id))

    def done_albums(self) -> list[AlbumRow]:
        rows = self.db.execute("SELECT id, name, artists, release_year, image_sha256 FROM albums WHERE status = 'done' ORDER BY n")
        return [AlbumRow(*r) for r in rows]

    # --- tracks ----------------------------------------------------------------------
    def tracks_needing_features(self, limit: int) -> list[TrackRow]:
        rows = self.db.execute(
            "SELECT id, album_id, name, artists, features, sources FROM tracks WHERE features_done = 0 ORDER BY n LIMIT ?",
            (limit,),
        )
        return [_track(r) for r in rows]

    def count_tracks(self, *, features_done: bool | None = None) -> int:
        if features_done is None:
            return self.db.execute("SELECT COUNT(*) FROM tracks").fetchone()[0]
        return self.db.execute("SELECT COUNT(*) FROM tracks WHERE features_done = ?", (int(features_done),)).fetchone()[0]

    def save_features(self, updates: dict[str, tuple[dict, dict]]) -> None:
        with self.db:
            self.db.executemany(
                "UPDATE tracks SET features = ?, sources = ?, features_done = 1 WHERE id = ?",
                [(json.dumps(f), json.dumps(s), tid) for tid, (f, s) in updates.items()],
            )

    def album_tracks(self, album_id: str) -> list[TrackRow]:
        rows = self.db.execute("SELECT id, album_id, name, artists, features, sources FROM tracks WHERE album_id = ? ORDER BY n", (album_id,))
        return [_track(r) for r in rows]

    # --- cover images ----------------------------------------------------------------
    def image_path(self, sha256: str) -> Path:
        return self.images_dir / sha256[:2] / sha256

    def store_image(self, data: bytes, url: str) -> str:
        """Keep the bytes once (by SHA-256) and return the hash."""
        sha = hashlib.sha256(data).hexdigest()
        path = self.image_path(sha)
        if not path.exists():
            write_bytes(path, data)
        with self.db:
            self.db.execute("INSERT OR IGNORE INTO images(sha256, url, bytes) VALUES (?, ?, ?)", (sha, url, len(data)))
        return sha

    def load_image(self, sha256: str) -> bytes:
        return self.image_path(sha256).read_bytes()

    def count_images(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM images").fetchone()[0]


def _track(row) -> TrackRow:
    tid, album_id, name, artists, features, sources = row
    return TrackRow(tid, album_id, name or "", artists or "", json.loads(features or "{}"), json.loads(sources or "{}"))
