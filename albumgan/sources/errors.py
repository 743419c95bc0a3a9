"""Errors raised by the catalogue and feature sources. Callers catch `SourceError` and
tell a user (bot) or stop with a message (crawler); nothing here is fatal by itself."""

from __future__ import annotations

import time


class SourceError(Exception):
    """Base class: something an upstream catalogue or feature source could not do."""


class NotFound(SourceError):
    def __init__(self, kind: str, id: str):
        super().__init__(f"{kind} {id!r} was not found")
        self.kind = kind
        self.id = id


class Forbidden(SourceError):
    """The app may not use this endpoint (Spotify 403: audio-features closed to new apps,
    batch endpoints removed for development-mode apps in Feb 2026)."""

    def __init__(self, endpoint: str):
        super().__init__(f"access to {endpoint} is forbidden for this app (HTTP 403)")
        self.endpoint = endpoint


class RateLimited(SourceError):
    """The service asked us to wait longer than we are willing to sleep in-process."""

    def __init__(self, retry_after_s: float, service: str = "spotify"):
        self.retry_after_s = float(retry_after_s)
        self.service = service
        self.resume_after = time.time() + self.retry_after_s
        when = time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(self.resume_after))
        super().__init__(f"{service} rate limit: retry after {self.retry_after_s:.0f} s (at {when})")


class Unavailable(SourceError):
    """A service is down, slow, or refused our credentials."""

    service = "service"

    def __init__(self, reason: str):
        super().__init__(f"{self.service} is unavailable: {reason}")
        self.reason = reason


class SpotifyUnavailable(Unavailable):
    service = "Spotify"


class SpotifyCredentialsRefused(SpotifyUnavailable):
    """The token endpoint refused the client id and secret (OAuth `invalid_client`): Spotify
    is up, and only fixing the configuration helps; retrying never will."""


class ReccoBeatsUnavailable(Unavailable):
    service = "ReccoBeats"
