"""Spotify links as people paste them, resolved to a SpotifyRef: parsing is the core's
(`albumgan.links`); this adds what needs the network, following short links
(`spotify.link/...`, `spoti.fi/...`) by their redirects without ever fetching
open.spotify.com, until a location parses as a normal link.
"""

from __future__ import annotations

import logging
from urllib.parse import urljoin, urlsplit

import aiohttp

from albumgan.bot.types import UserError
from albumgan.links import (
    EXAMPLE,
    LinkError,
    ShortLink,
    SpotifyRef,
    expect_kind,
    first_match,
    first_track_or_album,
    is_short_host,
    parse_link,
)

log = logging.getLogger(__name__)


class LinkResolver:
    """Turns pasted text into a SpotifyRef, following short links over HTTP.

    `short_link_base` replaces the scheme and host of short links (tests point it at a
    local fake); redirects are followed by hand so every hop is checked and bounded.
    """

    def __init__(self, *, short_link_base: str = "", timeout_s: float = 5.0, max_redirects: int = 5) -> None:
        self.short_link_base = short_link_base.rstrip("/")
        self.timeout_s = timeout_s
        self.max_redirects = max_redirects
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def resolve(self, text: str, kind: str, *, or_kind: str = "") -> SpotifyRef:
        """The Spotify object `text` links to, which must be a `kind` (or an `or_kind`)."""
        try:
            found = parse_link(text, bare_id_kind=kind)
            if isinstance(found, ShortLink):
                found = await self._follow(found.url)
            return found if or_kind and found.kind == or_kind else expect_kind(found, kind)
        except LinkError as exc:
            raise UserError(str(exc)) from None

    async def _follow(self, url: str) -> SpotifyRef:
        session = self._get_session()
        try:
            for _ in range(self.max_redirects):
                async with session.get(self._rewrite(url), allow_redirects=False) as resp:
                    location = resp.headers.get("Location")
                    if resp.status in (301, 302, 303, 307, 308) and location:
                        url = urljoin(url, location)
                        target = first_match(url)
                        if isinstance(target, SpotifyRef):
                            return target
                        if not is_short_host(url):
                            break
                        continue
                    if resp.status == 200:
                        # Branch.io serves browsers an HTML page carrying the open.spotify.com URL
                        body = (await resp.content.read(65536)).decode("utf-8", "replace")
                        target = first_track_or_album(body)
                        if target is not None:
                            return target
                    if resp.status == 404:
                        raise UserError(
                            "That Spotify short link doesn't exist (any more). "
                            "Paste the full link from Share → Copy link."
                        )
                    break
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("short link %s could not be followed: %s", url, exc)
            raise UserError(
                "I couldn't open that Spotify short link just now. Paste the full link "
                f"instead, like {EXAMPLE['track']}"
            ) from exc
        raise UserError(
            "That short link doesn't lead to a Spotify track or album. Paste the full link "
            f"instead, like {EXAMPLE['track']}"
        )

    def _rewrite(self, url: str) -> str:
        if not self.short_link_base:
            return url
        parts = urlsplit(url)
        # keep the short host in the path so one fake can serve every short-link domain
        return f"{self.short_link_base}/{parts.netloc.lower()}{parts.path}"

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout_s),
                # Branch.io answers curl-like clients with a plain redirect (spotify-dart#154)
                headers={"User-Agent": "curl/8.5.0"},
            )
        return self._session
