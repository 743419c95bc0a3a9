"""A fake ReccoBeats API: `GET /v1/audio-features?ids=` and `GET /v1/track?ids=` keyed by
Spotify ids (comma-separated or repeated `ids=`), at most 40 ids, answering
`{"content": [...]}` whose items carry a ReccoBeats UUID in `id` and the Spotify id only in
`href`. Unknown ids are silently omitted, like the real service.

    with FakeReccoBeats(catalog) as recco:
        client = ReccoBeatsClient(recco.base_url)
"""

from __future__ import annotations

import uuid

from aiohttp import web

from fakes.loopback import LoopbackServer, json_response
from fakes.spotify import Catalog, FakeTrack

MAX_IDS = 40


class FakeReccoBeats(LoopbackServer):
    def __init__(self, catalog: Catalog):
        super().__init__()
        self.catalog = catalog

    def error_body(self, status: int) -> dict:
        code = {429: 4291, 400: 4001, 404: 4041}.get(status, status * 10)
        return {"timestamp": "2026-11-25T00:00:00Z", "status": status, "error": "injected", "code": code}

    async def handle(self, request: web.Request, path: str) -> web.StreamResponse:
        path = path.rstrip("/")
        if path not in ("/v1/audio-features", "/v1/track") or request.method != "GET":
            return json_response(self.error_body(404), 404)
        ids = [i for value in request.query.getall("ids", []) for i in value.split(",") if i]
        if not ids or len(ids) > MAX_IDS:
            return json_response({**self.error_body(400), "error": f"ids must hold 1 to {MAX_IDS} ids"}, 400)
        known = [
            self.catalog.tracks[i] for i in ids if i in self.catalog.tracks and self.catalog.tracks[i].reccobeats_knows
        ]
        render = self._features if path == "/v1/audio-features" else self._track
        return json_response({"content": [render(t) for t in known]})

    def _uuid(self, track: FakeTrack) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, track.id))

    def _features(self, track: FakeTrack) -> dict:
        return {
            "id": self._uuid(track),
            "href": f"https://open.spotify.com/track/{track.id}",
            "isrc": track.isrc,
            "key": 5,
            "mode": 1,
            **track.features,
        }

    def _track(self, track: FakeTrack) -> dict:
        return {
            "id": self._uuid(track),
            "trackTitle": track.name,
            "artists": [
                {"name": self.catalog.artists[a].name, "href": f"https://open.spotify.com/artist/{a}"}
                for a in track.artist_ids
            ],
            "durationMs": track.duration_ms,
            "isrc": track.isrc,
            "href": f"https://open.spotify.com/track/{track.id}",
            "availableCountries": "DE,FR,US",
            "popularity": track.popularity,
        }
