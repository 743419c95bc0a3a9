"""A fake Spotify: the accounts token endpoint, the Web API paths spotipy sends (trailing
slashes included) with the 2026 JSON shapes, and an image CDN on the same server.

    with FakeSpotify(make_catalog(10, 10, seed=1)) as fake:
        sp = spotify_client("test-id", "test-secret", api_base=fake.api_base, token_url=fake.token_url)

Knobs: `audio_features_forbidden` (403 like every app registered since Nov 2024; on by
default), `batch_endpoints` (False = the Feb 2026 dev-mode 403 on GET /tracks?ids= and
/albums?ids=), `popularity` (False = field omitted), `page_cap` (max page size, to force
paging), plus `inject(...)` faults (404/429+Retry-After/5xx/slow/held) and `count(...)`.
"""

from __future__ import annotations

import base64
import io
import random
import re
from dataclasses import dataclass, field
from urllib.parse import urlencode

import numpy as np
from aiohttp import web
from PIL import Image, ImageDraw, ImageFont

from fakes.loopback import LoopbackServer, json_response

ID_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
ADJECTIVES = [
    "Blue",
    "Silent",
    "Golden",
    "Electric",
    "Velvet",
    "Broken",
    "Neon",
    "Paper",
    "Hollow",
    "Wild",
    "Crimson",
    "Distant",
]
NOUNS = [
    "Horizon",
    "Garden",
    "Machine",
    "River",
    "Echo",
    "Summer",
    "Signal",
    "Harbour",
    "Mirror",
    "Atlas",
    "Static",
    "Orchard",
]
FEATURES = (
    "danceability",
    "acousticness",
    "energy",
    "instrumentalness",
    "liveness",
    "loudness",
    "speechiness",
    "tempo",
    "valence",
)
# Odd covers, by album index, when make_catalog(odd_covers=True): what the cleaner must cope with.
ODD_COVERS = {1: "truncated", 2: "cmyk", 3: "palette", 4: "gray", 5: "nonsquare", 6: "duplicate", 7: "near-duplicate"}
SIZES = (640, 300, 64)


def base62_id(rng: random.Random) -> str:
    return "".join(rng.choice(ID_ALPHABET) for _ in range(22))


@dataclass
class FakeTrack:
    id: str
    name: str
    album_id: str
    artist_ids: list[str]
    track_number: int
    duration_ms: int
    popularity: int
    isrc: str
    features: dict[str, float]  # the truth; who may serve it is below
    spotify_has_features: bool = True  # False: a null entry in batch audio-features
    reccobeats_knows: bool = True  # False: ReccoBeats silently omits it


@dataclass
class FakeAlbum:
    id: str
    name: str
    artist_ids: list[str]
    release_date: str
    album_type: str
    track_ids: list[str]
    cover_seed: int
    cover_kind: str = "normal"
    popularity: int = 50


@dataclass
class FakeArtist:
    id: str
    name: str
    album_ids: list[str] = field(default_factory=list)


@dataclass
class FakePlaylist:
    id: str
    name: str
    track_ids: list[str | None]  # None: a removed track (null item)


@dataclass
class Catalog:
    artists: dict[str, FakeArtist] = field(default_factory=dict)
    albums: dict[str, FakeAlbum] = field(default_factory=dict)
    tracks: dict[str, FakeTrack] = field(default_factory=dict)
    playlists: dict[str, FakePlaylist] = field(default_factory=dict)

    @property
    def album_list(self) -> list[FakeAlbum]:
        return list(self.albums.values())


def make_catalog(
    n_albums: int = 10,
    tracks_per_album: int = 10,
    seed: int = 0,
    *,
    odd_covers: bool = False,
    n_artists: int | None = None,
) -> Catalog:
    """A deterministic catalogue: artists, albums with generated covers, tracks with features.
    Every 7th track has no Spotify audio features (null entry); every 5th is unknown to ReccoBeats."""
    rng = random.Random(seed)
    catalog = Catalog()
    n_artists = n_artists or max(1, n_albums // 3)
    artists = [
        FakeArtist(base62_id(rng), f"The {rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}s") for _ in range(n_artists)
    ]
    catalog.artists = {a.id: a for a in artists}
    count = 0
    for a in range(n_albums):
        artist = artists[a % n_artists]
        album = FakeAlbum(
            id=base62_id(rng),
            name=f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)} {a}",
            artist_ids=[artist.id],
            release_date=f"{rng.randint(1965, 2025)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            album_type="album" if tracks_per_album > 3 else "single",
            track_ids=[],
            cover_seed=seed * 100_003 + a,
            cover_kind=ODD_COVERS.get(a, "normal") if odd_covers else "normal",
            popularity=rng.randint(0, 100),
        )
        artist.album_ids.append(album.id)
        for t in range(tracks_per_album):
            count += 1
            track = FakeTrack(
                id=base62_id(rng),
                name=f"{rng.choice(NOUNS)} {rng.choice(ADJECTIVES).lower()} {t + 1}",
                album_id=album.id,
                artist_ids=[artist.id],
                track_number=t + 1,
                duration_ms=rng.randint(120_000, 360_000),
                popularity=rng.randint(0, 100),
                isrc=f"QZ{rng.randint(10**9, 10**10 - 1)}",
                features=_random_features(rng),
                spotify_has_features=count % 7 != 0,
                reccobeats_knows=count % 5 != 0,
            )
            album.track_ids.append(track.id)
            catalog.tracks[track.id] = track
        catalog.albums[album.id] = album
    some = list(catalog.tracks)[: 2 * tracks_per_album + 3]
    playlist = FakePlaylist(base62_id(rng), "Fake mix", [*some[:3], None, *some[3:]])
    catalog.playlists[playlist.id] = playlist
    return catalog


def _random_features(rng: random.Random) -> dict[str, float]:
    out = {name: round(rng.random(), 4) for name in FEATURES}
    out["loudness"] = round(rng.uniform(-30, -2), 3)
    out["tempo"] = round(rng.uniform(60, 190), 3)
    return out


# --- cover art -----------------------------------------------------------------------
def render_cover(seed: int, size: int = 640) -> Image.Image:
    """A structured cover: a two-colour gradient, a few shapes, and a line of text."""
    rng = np.random.default_rng(seed)
    c0, c1 = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
    t = np.linspace(0, 1, size)[:, None, None]
    angle = rng.uniform(0, 1)
    ramp = angle * t + (1 - angle) * t.transpose(1, 0, 2)
    pixels = (c0 * (1 - ramp) + c1 * ramp).astype(np.uint8)
    image = Image.fromarray(pixels, "RGB")
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(2, 6))):
        x0, y0 = rng.integers(0, size * 3 // 4, 2)
        w, h = rng.integers(size // 8, size // 2, 2)
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        if rng.random() < 0.5:
            draw.ellipse((x0, y0, x0 + w, y0 + h), fill=colour)
        else:
            draw.rectangle((x0, y0, x0 + w, y0 + h), fill=colour)
    font = ImageFont.load_default(size=max(10, size // 12))
    draw.text((size // 16, size * 13 // 16), f"NO. {seed % 1000}", fill=(255, 255, 255), font=font)
    return image


def cover_bytes(album: FakeAlbum, size: int) -> tuple[bytes, str]:
    """The encoded cover of an album at one of SIZES, and its content type."""
    kind = album.cover_kind
    seed = (
        album.cover_seed - (album.cover_seed % 100_003) if kind in ("duplicate", "near-duplicate") else album.cover_seed
    )
    image = render_cover(seed, size)
    out = io.BytesIO()
    if kind == "cmyk":
        image.convert("CMYK").save(out, "JPEG", quality=90)
    elif kind == "palette":
        palette = image.convert("P", palette=Image.Palette.ADAPTIVE, colors=32)
        palette.info["transparency"] = 0
        palette.save(out, "PNG", transparency=0)
        return out.getvalue(), "image/png"
    elif kind == "gray":
        image.convert("L").save(out, "JPEG", quality=90)
    elif kind == "nonsquare":
        image.crop((0, 0, size, size * 3 // 4)).save(out, "JPEG", quality=90)
    elif kind == "near-duplicate":
        image.save(out, "JPEG", quality=55)
    else:
        image.save(out, "JPEG", quality=90)
    data = out.getvalue()
    if kind == "truncated":
        data = data[: len(data) // 2]
    return data, "image/jpeg"


# --- the server ----------------------------------------------------------------------
class FakeSpotify(LoopbackServer):
    def __init__(self, catalog: Catalog, *, client_id: str = "test-id", client_secret: str = "test-secret"):
        super().__init__()
        self.catalog = catalog
        self.client_id = client_id
        self.client_secret = client_secret
        self.audio_features_forbidden = True
        self.batch_endpoints = True
        self.popularity = True
        self.page_cap = 50
        self.tokens_issued = 0
        self._token = "fake-access-token"
        self._image_cache: dict[tuple[str, int], tuple[bytes, str]] = {}

    @property
    def api_base(self) -> str:
        return f"{self.base_url}/v1/"

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/api/token"

    def error_body(self, status: int) -> dict:
        if status == 429:
            return {"error": {"status": 429, "message": "Too many requests", "reason": "QUOTA_EXCEEDED"}}
        if status == 403:
            return {"error": {"status": 403}}
        return {"error": {"status": status, "message": "Service unavailable" if status >= 500 else "Not found"}}

    async def handle(self, request: web.Request, path: str) -> web.StreamResponse:
        if path == "/api/token" and request.method == "POST":
            return await self._token_endpoint(request)
        if path.startswith("/image/"):
            return self._image(path)
        if not path.startswith("/v1/"):
            return json_response(self.error_body(404), 404)
        if request.headers.get("Authorization") != f"Bearer {self._token}":
            return json_response(
                {"error": {"status": 401, "message": "Invalid access token"}},
                401,
                {"www-authenticate": 'Bearer realm="spotify", error="invalid_token"'},
            )
        for pattern, handler in self._routes():
            match = re.fullmatch(pattern, path)
            if match:
                return handler(request, *match.groups())
        return json_response({"error": {"status": 404, "message": "Service not found"}}, 404)

    def _routes(self):
        return (
            (r"/v1/tracks/?", self._several_tracks),
            (r"/v1/tracks/([^/]+)/?", self._track),
            (r"/v1/albums/?", self._several_albums),
            (r"/v1/albums/([^/]+)/tracks/?", self._album_tracks),
            (r"/v1/albums/([^/]+)/?", self._album),
            (r"/v1/artists/([^/]+)/albums/?", self._artist_albums),
            (r"/v1/artists/([^/]+)/?", self._artist),
            (r"/v1/playlists/([^/]+)/(?:items|tracks)/?", self._playlist_items),
            (r"/v1/playlists/([^/]+)/?", self._playlist),
            (r"/v1/search/?", self._search),
            (r"/v1/audio-features/?", self._several_audio_features),
            (r"/v1/audio-features/([^/]+)/?", self._audio_features),
        )

    async def _token_endpoint(self, request: web.Request) -> web.Response:
        form = await request.post()
        expected = "Basic " + base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        if form.get("grant_type") != "client_credentials" or request.headers.get("Authorization") != expected:
            return json_response({"error": "invalid_client", "error_description": "Invalid client"}, 400)
        self.tokens_issued += 1
        return json_response({"access_token": self._token, "token_type": "Bearer", "expires_in": 3600})

    def _image(self, path: str) -> web.Response:
        match = re.fullmatch(r"/image/([^/]+)/(\d+)", path)
        album = self.catalog.albums.get(match.group(1)) if match else None
        if album is None or int(match.group(2)) not in SIZES:
            return web.Response(status=404, text="not found")
        key = (album.id, int(match.group(2)))
        if key not in self._image_cache:
            self._image_cache[key] = cover_bytes(album, key[1])
        data, content_type = self._image_cache[key]
        return web.Response(body=data, content_type=content_type)

    # --- objects ---------------------------------------------------------------------
    def _ref(self, kind: str, id: str, name: str) -> dict:
        return {
            "external_urls": {"spotify": f"https://open.spotify.com/{kind}/{id}"},
            "href": f"{self.api_base}{kind}s/{id}",
            "id": id,
            "name": name,
            "type": kind,
            "uri": f"spotify:{kind}:{id}",
        }

    def _artist_obj(self, artist_id: str) -> dict:
        return self._ref("artist", artist_id, self.catalog.artists[artist_id].name)

    def _images(self, album: FakeAlbum) -> list[dict]:
        ratio = 3 / 4 if album.cover_kind == "nonsquare" else 1
        return [{"url": f"{self.base_url}/image/{album.id}/{s}", "width": s, "height": int(s * ratio)} for s in SIZES]

    def _simple_album(self, album: FakeAlbum) -> dict:
        return {
            **self._ref("album", album.id, album.name),
            "album_type": album.album_type,
            "total_tracks": len(album.track_ids),
            "images": self._images(album),
            "release_date": album.release_date,
            "release_date_precision": "day",
            "artists": [self._artist_obj(a) for a in album.artist_ids],
        }

    def _simple_track(self, track: FakeTrack) -> dict:
        return {
            **self._ref("track", track.id, track.name),
            "artists": [self._artist_obj(a) for a in track.artist_ids],
            "disc_number": 1,
            "duration_ms": track.duration_ms,
            "explicit": False,
            "is_local": False,
            "preview_url": None,
            "track_number": track.track_number,
        }

    def _full_track(self, track: FakeTrack) -> dict:
        out = {
            **self._simple_track(track),
            "album": self._simple_album(self.catalog.albums[track.album_id]),
            "external_ids": {"isrc": track.isrc},
        }
        if self.popularity:
            out["popularity"] = track.popularity
        return out

    def _full_album(self, request: web.Request, album: FakeAlbum) -> dict:
        out = {
            **self._simple_album(album),
            "tracks": self._page(
                request,
                f"/v1/albums/{album.id}/tracks",
                [self._simple_track(self.catalog.tracks[t]) for t in album.track_ids],
                0,
                50,
            ),
            "copyrights": [{"text": f"(C) {album.release_date[:4]} Fake Records", "type": "C"}],
            "external_ids": {"upc": "000000000000"},
            "genres": [],
        }
        if self.popularity:
            out["popularity"] = album.popularity
        return out

    def _page(
        self, request: web.Request, path: str, items: list, offset: int, limit: int, extra: dict | None = None
    ) -> dict:
        limit = min(limit, self.page_cap)
        chunk = items[offset : offset + limit]

        def link(at: int) -> str:
            return f"{self.base_url}{path}?{urlencode({**(extra or {}), 'offset': at, 'limit': limit})}"

        return {
            "href": link(offset),
            "items": chunk,
            "limit": limit,
            "next": link(offset + limit) if offset + limit < len(items) else None,
            "offset": offset,
            "previous": link(max(0, offset - limit)) if offset > 0 else None,
            "total": len(items),
        }

    # --- handlers --------------------------------------------------------------------
    def _bad_id(self, id: str) -> web.Response | None:
        if not re.fullmatch(r"[0-9A-Za-z]{22}", id):
            return json_response({"error": {"status": 400, "message": "Invalid base62 id"}}, 400)
        return None

    def _not_found(self) -> web.Response:
        return json_response({"error": {"status": 404, "message": "Resource not found"}}, 404)

    def _ids(self, request: web.Request, most: int) -> list[str] | web.Response:
        ids = [i for i in request.query.get("ids", "").split(",") if i]
        if not ids or len(ids) > most:
            return json_response({"error": {"status": 400, "message": "Invalid ids"}}, 400)
        return ids

    def _track(self, request, id):
        track = self.catalog.tracks.get(id)
        return self._bad_id(id) or (json_response(self._full_track(track)) if track else self._not_found())

    def _several_tracks(self, request):
        if not self.batch_endpoints:
            return json_response(self.error_body(403), 403)
        ids = self._ids(request, 50)
        if isinstance(ids, web.Response):
            return ids
        return json_response(
            {"tracks": [self._full_track(self.catalog.tracks[i]) if i in self.catalog.tracks else None for i in ids]}
        )

    def _album(self, request, id):
        album = self.catalog.albums.get(id)
        return self._bad_id(id) or (json_response(self._full_album(request, album)) if album else self._not_found())

    def _several_albums(self, request):
        if not self.batch_endpoints:
            return json_response(self.error_body(403), 403)
        ids = self._ids(request, 20)
        if isinstance(ids, web.Response):
            return ids
        return json_response(
            {
                "albums": [
                    self._full_album(request, self.catalog.albums[i]) if i in self.catalog.albums else None for i in ids
                ]
            }
        )

    def _album_tracks(self, request, id):
        album = self.catalog.albums.get(id)
        if bad := self._bad_id(id):
            return bad
        if album is None:
            return self._not_found()
        items = [self._simple_track(self.catalog.tracks[t]) for t in album.track_ids]
        offset, limit = int(request.query.get("offset", 0)), int(request.query.get("limit", 20))
        return json_response(self._page(request, f"/v1/albums/{id}/tracks", items, offset, limit))

    def _artist(self, request, id):
        artist = self.catalog.artists.get(id)
        if artist is None:
            return self._bad_id(id) or self._not_found()
        return json_response({**self._ref("artist", id, artist.name), "genres": [], "images": []})

    def _artist_albums(self, request, id):
        artist = self.catalog.artists.get(id)
        if artist is None:
            return self._bad_id(id) or self._not_found()
        items = [self._simple_album(self.catalog.albums[a]) for a in artist.album_ids]
        offset, limit = int(request.query.get("offset", 0)), int(request.query.get("limit", 20))
        return json_response(self._page(request, f"/v1/artists/{id}/albums", items, offset, limit))

    def _playlist_entries(self, playlist: FakePlaylist) -> list[dict]:
        entries = []
        for tid in playlist.track_ids:
            item = self._full_track(self.catalog.tracks[tid]) if tid else None
            entries.append({"added_at": "2026-01-01T00:00:00Z", "is_local": False, "item": item})
        return entries

    def _playlist(self, request, id):
        playlist = self.catalog.playlists.get(id)
        if playlist is None:
            return self._bad_id(id) or self._not_found()
        items = self._page(request, f"/v1/playlists/{id}/items", self._playlist_entries(playlist), 0, 100)
        return json_response({**self._ref("playlist", id, playlist.name), "items": items, "images": []})

    def _playlist_items(self, request, id):
        playlist = self.catalog.playlists.get(id)
        if playlist is None:
            return self._bad_id(id) or self._not_found()
        offset, limit = int(request.query.get("offset", 0)), int(request.query.get("limit", 100))
        return json_response(
            self._page(request, f"/v1/playlists/{id}/items", self._playlist_entries(playlist), offset, limit)
        )

    def _search(self, request):
        query = request.query.get("q", "").lower().strip()
        kinds = [k for k in request.query.get("type", "track").split(",") if k]
        limit, offset = int(request.query.get("limit", 5)), int(request.query.get("offset", 0))
        if not query or not 1 <= limit <= 10 or offset > 1000:
            return json_response(
                {"error": {"status": 400, "message": "Invalid limit" if query else "No search query"}}, 400
            )
        words = query.split()
        result = {}
        for kind in kinds:
            if kind == "album":
                items = [
                    self._simple_album(a)
                    for a in self.catalog.albums.values()
                    if _matches(words, a.name, *[self.catalog.artists[x].name for x in a.artist_ids])
                ]
            elif kind == "track":
                items = [
                    self._full_track(t)
                    for t in self.catalog.tracks.values()
                    if _matches(words, t.name, self.catalog.albums[t.album_id].name)
                ]
            elif kind == "artist":
                items = [
                    self._ref("artist", a.id, a.name) for a in self.catalog.artists.values() if _matches(words, a.name)
                ]
            else:
                return json_response({"error": {"status": 400, "message": "Bad search type field"}}, 400)
            result[kind + "s"] = self._page(
                request, "/v1/search", items, offset, limit, {"q": request.query["q"], "type": kind}
            )
        return json_response(result)

    def _features_obj(self, track: FakeTrack) -> dict | None:
        if not track.spotify_has_features:
            return None
        return {
            **track.features,
            "id": track.id,
            "key": 5,
            "mode": 1,
            "time_signature": 4,
            "duration_ms": track.duration_ms,
            "type": "audio_features",
            "uri": f"spotify:track:{track.id}",
            "track_href": f"{self.api_base}tracks/{track.id}",
            "analysis_url": f"{self.api_base}audio-analysis/{track.id}",
        }

    def _several_audio_features(self, request):
        if self.audio_features_forbidden:
            return json_response(self.error_body(403), 403)
        ids = self._ids(request, 100)
        if isinstance(ids, web.Response):
            return ids
        return json_response(
            {
                "audio_features": [
                    self._features_obj(self.catalog.tracks[i]) if i in self.catalog.tracks else None for i in ids
                ]
            }
        )

    def _audio_features(self, request, id):
        if self.audio_features_forbidden:
            return json_response(self.error_body(403), 403)
        track = self.catalog.tracks.get(id)
        features = self._features_obj(track) if track else None
        return json_response(features) if features else self._not_found()


def _matches(words: list[str], *texts: str) -> bool:
    haystack = " ".join(texts).lower()
    return all(w in haystack for w in words)
