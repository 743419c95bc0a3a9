"""Retry policy shared by the HTTP sources: honour Retry-After up to a cap, back off on
5xx and timeouts, never sleep for hours (Spotify sometimes answers Retry-After: 86400)."""

from __future__ import annotations

import email.utils
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

DEFAULT_RETRY_AFTER_S = 1.0
# A longer Retry-After ("1e20", "inf", a date in the year 9999) means "not soon": it is read as
# this, still past every cap, and a time that can be slept, added to now and printed as a date.
LONGEST_RETRY_AFTER_S = 7 * 24 * 3600.0


@dataclass
class RetryPolicy:
    max_retry_after_s: float = 60.0  # longer waits raise RateLimited instead of sleeping
    max_attempts: int = 3  # per request, for 429 (within the cap), 5xx and timeouts
    backoff_s: float = 0.5  # first 5xx/timeout backoff, doubled each attempt
    sleep: Callable[[float], None] = time.sleep

    def backoff(self, attempt: int) -> float:
        return self.backoff_s * (2**attempt)


def parse_retry_after(value: str | None) -> float:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), from 0 to
    LONGEST_RETRY_AFTER_S; DEFAULT_RETRY_AFTER_S when absent or unreadable."""
    if not value:
        return DEFAULT_RETRY_AFTER_S
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        seconds = _seconds_until(value)
    if math.isnan(seconds):
        return DEFAULT_RETRY_AFTER_S
    return min(max(0.0, seconds), LONGEST_RETRY_AFTER_S)


def _seconds_until(http_date: str) -> float:
    try:
        when = email.utils.parsedate_to_datetime(http_date)
    except (TypeError, ValueError):
        return math.nan
    return when.timestamp() - time.time()
