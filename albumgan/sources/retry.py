"""Retry policy shared by the HTTP sources: honour Retry-After up to a cap, back off on
5xx and timeouts, never sleep for hours (Spotify sometimes answers Retry-After: 86400)."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable
from dataclasses import dataclass

DEFAULT_RETRY_AFTER_S = 1.0


@dataclass
class RetryPolicy:
    max_retry_after_s: float = 60.0  # longer waits raise RateLimited instead of sleeping
    max_attempts: int = 3  # per request, for 429 (within the cap), 5xx and timeouts
    backoff_s: float = 0.5  # first 5xx/timeout backoff, doubled each attempt
    sleep: Callable[[float], None] = time.sleep

    def backoff(self, attempt: int) -> float:
        return self.backoff_s * (2**attempt)


def parse_retry_after(value: str | None) -> float:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return DEFAULT_RETRY_AFTER_S
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER_S
    return max(0.0, when.timestamp() - time.time())
