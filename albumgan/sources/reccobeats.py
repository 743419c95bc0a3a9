"""ReccoBeats (https://reccobeats.com): a free, keyless audio-feature API keyed by Spotify
track ids. Its items carry their own UUID in `id`; the Spotify id is only in `href`
(`https://open.spotify.com/track/<id>`), so results are mapped back through it. Unknown ids
are silently omitted, 40 ids per call at most."""

from __future__ import annotations

import logging
import re

import requests

from albumgan.sources.errors import RateLimited, ReccoBeatsUnavailable
from albumgan.sources.retry import RetryPolicy, parse_retry_after

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.reccobeats.com"
MAX_IDS = 40
_HREF_ID = re.compile(r"/track/([0-9A-Za-z]{22})")


class ReccoBeatsClient:
    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        *,
        timeout_s: float = 10.0,
        retry: RetryPolicy | None = None,
        session: requests.Session | None = None,
    ):
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.retry = retry or RetryPolicy()
        self.session = session or requests.Session()
        self.requests = 0

    def audio_features(self, spotify_ids: list[str]) -> dict[str, dict]:
        """Spotify id -> ReccoBeats audio-feature item, for the ids it knows."""
        return self._by_spotify_id("/v1/audio-features", spotify_ids)

    def tracks(self, spotify_ids: list[str]) -> dict[str, dict]:
        """Spotify id -> ReccoBeats track item (has `popularity`), for the ids it knows."""
        return self._by_spotify_id("/v1/track", spotify_ids)

    def _by_spotify_id(self, path: str, spotify_ids: list[str]) -> dict[str, dict]:
        wanted = set(spotify_ids)
        out: dict[str, dict] = {}
        for start in range(0, len(spotify_ids), MAX_IDS):
            chunk = spotify_ids[start : start + MAX_IDS]
            for item in self._get(path, {"ids": ",".join(chunk)}).get("content") or []:
                match = _HREF_ID.search(str((item or {}).get("href", "")))
                # One ISRC can map to several records: keep the first per Spotify id.
                if match and match.group(1) in wanted and match.group(1) not in out:
                    out[match.group(1)] = item
        return out

    def _get(self, path: str, params: dict) -> dict:
        policy = self.retry
        for attempt in range(policy.max_attempts):
            last = attempt == policy.max_attempts - 1
            self.requests += 1
            try:
                response = self.session.get(self.base_url + path, params=params, timeout=self.timeout_s)
            except (requests.Timeout, requests.ConnectionError) as exc:
                if last:
                    raise ReccoBeatsUnavailable(f"{type(exc).__name__} on {path}") from None
                policy.sleep(policy.backoff(attempt))
                continue
            status = response.status_code
            if status == 200:
                try:
                    return response.json()
                except ValueError:
                    raise ReccoBeatsUnavailable(f"{path} answered with invalid JSON") from None
            if status == 404:
                return {}
            if status == 429:
                wait = parse_retry_after(response.headers.get("Retry-After"))
                if wait > policy.max_retry_after_s or last:
                    raise RateLimited(wait, "reccobeats")
                log.info("ReccoBeats rate limit: waiting %.1f s as asked", wait)
                policy.sleep(wait)
            elif status >= 500 and not last:
                policy.sleep(policy.backoff(attempt))
            else:
                raise ReccoBeatsUnavailable(f"HTTP {status} on {path}")
        raise AssertionError("unreachable")
