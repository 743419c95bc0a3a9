"""Track and album metadata from a local CSV, shaped like Spotify's objects.

This is what lets the bot (and `albumgan demo`) make conditioned covers with no Spotify
credentials and no network: the shipped table (models/demo-tracks.csv) holds a few
made-up demo tracks, with readable ids ("0DemoTrack...") so nobody mistakes them for real
ones. Features for the same rows come from the "local" feature provider.

Columns: track_id, name, artists (";"-separated), album_id, album, then feature columns.
"""

from __future__ import annotations

from pathlib import Path

from albumgan.tables import Table


class LocalCatalog:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._tracks: dict[str, dict] = {}
        self._albums: dict[str, dict] = {}
        # Ragged rows are dropped, as the "local" feature provider drops them when it reads this
        # same file (and reports them: quiet here), so no track is known without its features.
        for _, row in Table(self.path, quiet=True).csv_rows()[1]:
            self._add(row)

    def _add(self, row: dict) -> None:
        track_id = (row.get("track_id") or row.get("id") or "").strip()
        if not track_id or track_id in self._tracks:
            return
        artists = [{"name": a.strip()} for a in (row.get("artists") or "").split(";") if a.strip()]
        album_id = (row.get("album_id") or "").strip()
        album_ref = {"id": album_id, "name": row.get("album", "")} if album_id else None
        self._tracks[track_id] = {
            "id": track_id,
            "name": row.get("name") or track_id,
            "artists": artists,
            "album": album_ref,
        }
        if album_ref:
            album = self._albums.setdefault(album_id, {**album_ref, "artists": artists, "track_ids": []})
            album["track_ids"].append(track_id)

    @property
    def track_ids(self) -> list[str]:
        return list(self._tracks)

    @property
    def album_ids(self) -> list[str]:
        return list(self._albums)

    def track(self, track_id: str) -> dict | None:
        return self._tracks.get(track_id)

    def album(self, album_id: str) -> dict | None:
        album = self._albums.get(album_id)
        if album is None:
            return None
        return {
            "id": album["id"],
            "name": album["name"],
            "artists": album["artists"],
            "total_tracks": len(album["track_ids"]),
        }

    def album_tracks(self, album_id: str) -> list[dict]:
        album = self._albums.get(album_id)
        return [self._tracks[t] for t in album["track_ids"]] if album else []
