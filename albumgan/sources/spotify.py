"""Spotify Web API through spotipy, bent to today's rules (see docs/DATASETS.md).

- spotipy gets a plain `requests.Session`: it then mounts no urllib3 Retry, so a 429 reaches
  us at once with its Retry-After header instead of spotipy sleeping it out (for hours,
  sometimes). `RetryPolicy` decides: short waits are slept, long ones raise `RateLimited`.
- Batch endpoints (`GET /tracks?ids=`, `GET /albums?ids=`) are used while they answer; the
  first 403 (removed for development-mode apps in Feb 2026) switches to one request per id.
- `popularity` may be absent from track objects; nothing here assumes it.
- Base URL and token URL are injectable so tests can point the real client at a fake.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import requests
import spotipy
from spotipy.cache_handler import MemoryCacheHandler
from spotipy.oauth2 import SpotifyClientCredentials, SpotifyOauthError

from albumgan.credentials import check_credential
from albumgan.sources.errors import (
    Forbidden,
    NotFound,
    RateLimited,
    SourceError,
    SpotifyCredentialsRefused,
    SpotifyUnavailable,
)
from albumgan.sources.retry import RetryPolicy, parse_retry_after

log = logging.getLogger(__name__)

DEFAULT_API_BASE = "https://api.spotify.com/v1/"
DEFAULT_TOKEN_URL = "https://accounts.spotify.com/api/token"
SEARCH_LIMIT = 10  # the Feb 2026 maximum for development-mode apps
SEARCH_MAX_OFFSET = 1000
TRACKS_BATCH = 50
ALBUMS_BATCH = 20
AUDIO_FEATURES_BATCH = 100
# OAuth errors of the token endpoint that mean a wrong client id or secret (RFC 6749 5.2),
# whether it answers them with HTTP 400 or 401.
REFUSED_CREDENTIALS = ("invalid_client", "unauthorized_client")


def spotify_client(
    client_id: str | None = None,
    client_secret: str | None = None,
    *,
    api_base: str = DEFAULT_API_BASE,
    token_url: str = DEFAULT_TOKEN_URL,
    timeout_s: float = 10.0,
) -> spotipy.Spotify:
    """A client-credentials spotipy client with spotipy's own 429 sleeping disabled.
    Credentials default to the env vars SPOTIPY_CLIENT_ID / SPOTIPY_CLIENT_SECRET."""
    # spotipy encodes id:secret as ASCII only when it first asks for a token: check them here
    client_id = check_credential("SPOTIPY_CLIENT_ID", client_id or os.environ.get("SPOTIPY_CLIENT_ID", ""))
    client_secret = check_credential(
        "SPOTIPY_CLIENT_SECRET", client_secret or os.environ.get("SPOTIPY_CLIENT_SECRET", "")
    )
    if not client_id or not client_secret:
        raise SpotifyUnavailable("no credentials: set SPOTIPY_CLIENT_ID and SPOTIPY_CLIENT_SECRET")
    auth = SpotifyClientCredentials(
        client_id=client_id,
        client_secret=client_secret,
        cache_handler=MemoryCacheHandler(),  # the default writes ./.cache
        requests_timeout=timeout_s,
    )
    auth.OAUTH_TOKEN_URL = token_url
    _quiet_spotipy_http_errors()
    sp = spotipy.Spotify(auth_manager=auth, requests_session=requests.Session(), requests_timeout=timeout_s)
    sp.prefix = api_base.rstrip("/") + "/"
    return sp


class SpotifyCatalog:
    """Catalogue reads with the project's error and rate-limit rules.

    Raises `NotFound`, `Forbidden`, `RateLimited` (Retry-After above the cap) and
    `SpotifyUnavailable` (5xx after retries, timeouts, refused credentials).
    """

    def __init__(self, sp: spotipy.Spotify, *, retry: RetryPolicy | None = None, market: str | None = None):
        self.sp = sp
        self.retry = retry or RetryPolicy()
        self.market = market
        self.batch_tracks = True
        self.batch_albums = True
        self.requests = 0
        self._images = requests.Session()

    @classmethod
    def connect(
        cls,
        client_id: str | None = None,
        client_secret: str | None = None,
        *,
        api_base: str = DEFAULT_API_BASE,
        token_url: str = DEFAULT_TOKEN_URL,
        timeout_s: float = 10.0,
        max_retry_after_s: float = 60.0,
        market: str | None = None,
    ) -> SpotifyCatalog:
        sp = spotify_client(client_id, client_secret, api_base=api_base, token_url=token_url, timeout_s=timeout_s)
        return cls(sp, retry=RetryPolicy(max_retry_after_s=max_retry_after_s), market=market)

    # --- single objects -------------------------------------------------------------
    def track(self, track_id: str) -> dict:
        return self._call(lambda: self.sp.track(track_id, market=self.market), "track", track_id)

    def album(self, album_id: str) -> dict:
        return self._call(lambda: self.sp.album(album_id, market=self.market), "album", album_id)

    def artist(self, artist_id: str) -> dict:
        return self._call(lambda: self.sp.artist(artist_id), "artist", artist_id)

    def playlist(self, playlist_id: str) -> dict:
        return self._call(lambda: self.sp.playlist(playlist_id, market=self.market), "playlist", playlist_id)

    # --- paged collections ----------------------------------------------------------
    def album_tracks(self, album_id: str, first_page: dict | None = None) -> list[dict]:
        """All (simplified) tracks of an album, following `next` links. Pass the `tracks`
        page embedded in an album object to save the first request."""
        page = first_page or self._call(
            lambda: self.sp.album_tracks(album_id, limit=50, market=self.market), "album", album_id
        )
        return list(self._follow(page, "album", album_id))

    def artist_albums(self, artist_id: str, include_groups: str = "album,single") -> list[dict]:
        page = self._call(
            lambda: self.sp.artist_albums(artist_id, include_groups=include_groups, limit=50), "artist", artist_id
        )
        return list(self._follow(page, "artist", artist_id))

    def playlist_tracks(self, playlist_id: str) -> list[dict]:
        """Track objects of a playlist (Feb 2026 shape `items[].item`, older `items[].track`);
        null entries (removed tracks, local files) are skipped."""
        page = self._call(
            lambda: self.sp.playlist_items(playlist_id, limit=50, market=self.market, additional_types=("track",)),
            "playlist",
            playlist_id,
        )
        tracks = []
        for entry in self._follow(page, "playlist", playlist_id):
            track = (entry or {}).get("item") or (entry or {}).get("track")
            if track and track.get("id") and track.get("type", "track") == "track":
                tracks.append(track)
        return tracks

    def search(self, query: str, kind: str = "album", *, limit: int = SEARCH_LIMIT, offset: int = 0) -> dict:
        """One page of search results (a paging object) for one `kind`."""
        limit = max(1, min(limit, SEARCH_LIMIT))
        result = self._call(
            lambda: self.sp.search(query, limit=limit, offset=offset, type=kind, market=self.market), "search", query
        )
        return result.get(kind + "s") or {"items": [], "next": None, "total": 0}

    def search_all(
        self, query: str, kind: str = "album", *, max_results: int = 100, offset: int = 0
    ) -> Iterator[tuple[int, dict]]:
        """(offset, item) pairs for up to `max_results` results, 10 per request."""
        end = min(offset + max_results, SEARCH_MAX_OFFSET + SEARCH_LIMIT)
        while offset < end:
            page = self.search(query, kind, limit=min(SEARCH_LIMIT, end - offset), offset=offset)
            items = page.get("items") or []
            for i, item in enumerate(items):
                if item:
                    yield offset + i, item
            offset += len(items)
            if not items or not page.get("next"):
                return

    # --- batches with single-request fallback ----------------------------------------
    def tracks(self, track_ids: list[str]) -> list[dict | None]:
        """Full track objects in the order asked, None for unknown ids."""
        return self._batched(
            track_ids,
            "track",
            TRACKS_BATCH,
            "batch_tracks",
            lambda ids: self.sp.tracks(ids, market=self.market)["tracks"],
            self.track,
        )

    def albums(self, album_ids: list[str]) -> list[dict | None]:
        return self._batched(
            album_ids,
            "album",
            ALBUMS_BATCH,
            "batch_albums",
            lambda ids: self.sp.albums(ids, market=self.market)["albums"],
            self.album,
        )

    def audio_features(self, track_ids: list[str]) -> list[dict | None]:
        """Spotify audio features (None entries for tracks without); raises `Forbidden` for
        apps without access (every app registered since Nov 2024)."""
        out: list[dict | None] = []
        for start in range(0, len(track_ids), AUDIO_FEATURES_BATCH):
            chunk = track_ids[start : start + AUDIO_FEATURES_BATCH]
            result = self._call(
                functools.partial(_quiet_deprecation, self.sp.audio_features, chunk), "audio-features", ",".join(chunk)
            )
            out.extend(result or [None] * len(chunk))
        return out

    def download(self, url: str, *, max_bytes: int = 20_000_000) -> bytes:
        """Bytes of a cover image URL (the image CDN needs no token)."""

        def get() -> bytes:
            response = self._images.get(url, timeout=self.sp.requests_timeout, stream=True)
            if response.status_code >= 400:
                raise _http_error(response)
            data = response.raw.read(max_bytes + 1, decode_content=True)
            if len(data) > max_bytes:
                raise SourceError(f"image {url} is larger than {max_bytes} bytes")
            return data

        return self._call(get, "image", url)

    # --- plumbing --------------------------------------------------------------------
    def _batched(self, ids, kind, size, flag, batch_call, single_call) -> list[dict | None]:
        out: list[dict | None] = []
        for start in range(0, len(ids), size):
            chunk = ids[start : start + size]
            if getattr(self, flag):
                try:
                    out.extend(self._call(functools.partial(batch_call, chunk), kind, ",".join(chunk)))
                    continue
                except Forbidden:
                    log.warning("Spotify refuses batch %s requests (403): one request per %s from now on", kind, kind)
                    setattr(self, flag, False)
            for one in chunk:
                try:
                    out.append(single_call(one))
                except NotFound:
                    out.append(None)
        return out

    def _follow(self, page: dict, kind: str, id: str) -> Iterator[Any]:
        while page:
            yield from page.get("items") or []
            if not page.get("next"):
                return
            page = self._call(functools.partial(self.sp.next, page), kind, id)

    def _call(self, fn: Callable[[], Any], kind: str, id: str) -> Any:
        policy = self.retry
        for attempt in range(policy.max_attempts):
            last = attempt == policy.max_attempts - 1
            self.requests += 1
            try:
                return fn()
            except spotipy.SpotifyException as exc:
                policy.sleep(self._wait_before_retry(exc, kind, id, attempt, last))
            except SpotifyOauthError as exc:
                if exc.error in REFUSED_CREDENTIALS:
                    raise SpotifyCredentialsRefused(
                        f"the token endpoint refused the client credentials ({exc.error})"
                    ) from None
                raise SpotifyUnavailable(f"the token endpoint failed ({exc.error or exc})") from None
            except (requests.Timeout, requests.ConnectionError) as exc:
                if last:
                    raise SpotifyUnavailable(f"{type(exc).__name__} talking to Spotify") from None
                policy.sleep(policy.backoff(attempt))
        raise AssertionError("unreachable")

    def _wait_before_retry(self, exc: spotipy.SpotifyException, kind: str, id: str, attempt: int, last: bool) -> float:
        """Seconds to wait before retrying, or raise the project's error for `exc`."""
        status = exc.http_status
        if status == 429:
            wait = parse_retry_after((exc.headers or {}).get("Retry-After"))
            if wait > self.retry.max_retry_after_s or last:
                raise RateLimited(wait, "spotify") from None
            log.info("Spotify rate limit: waiting %.1f s as asked", wait)
            return wait
        text = _message(exc).lower()
        # 400s about ids come from the server ("Invalid base62 id") or from spotipy's own
        # parsing ("Unsupported URL / URI."): for a caller both mean "no such object".
        if status == 404 or (status == 400 and re.search(r"\bids?\b|\buri\b", text)):
            raise NotFound(kind, id) from None
        if status == 403:
            raise Forbidden(kind) from None
        if status == 401:
            raise SpotifyUnavailable("the access token was refused (HTTP 401)") from None
        if status >= 500 and not last:
            return self.retry.backoff(attempt)
        if status >= 500:
            raise SpotifyUnavailable(f"HTTP {status} from the Web API") from None
        raise SourceError(f"Spotify answered HTTP {status} for {kind} {id!r}: {_message(exc)}") from None


def _message(exc: spotipy.SpotifyException) -> str:
    return str(exc.msg).split("\n", 1)[-1].strip()


def _http_error(response: requests.Response) -> spotipy.SpotifyException:
    return spotipy.SpotifyException(
        response.status_code, -1, f"{response.url}:\n {response.reason}", headers=response.headers
    )


def _quiet_deprecation(fn, *args):
    # spotipy warns on every audio_features call; the 403 fallback is handled by the caller.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*marked as deprecated by Spotify", category=DeprecationWarning)
        return fn(*args)


class _DropHandledErrors(logging.Filter):
    """spotipy logs every HTTP error at ERROR before raising; SpotifyCatalog turns each one
    into its own exception (and one log line where it matters), so these are noise."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(("HTTP Error for", "Max Retries reached"))


def _quiet_spotipy_http_errors() -> None:
    spotipy_log = logging.getLogger("spotipy.client")
    if not any(isinstance(f, _DropHandledErrors) for f in spotipy_log.filters):
        spotipy_log.addFilter(_DropHandledErrors())
