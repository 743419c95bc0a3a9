"""Refusing replayed Slack requests in HTTP mode.

Slack signs each request it POSTs (HMAC over timestamp and body), and slack-bolt accepts
a signature for five minutes either side of its timestamp. Within that window a captured
request would verify again, and run again: another cover, another upload. So each verified
signature is remembered until its timestamp is out of the window, and a second use is
answered 401 and not executed. A signature covers timestamp and body, so it identifies
the request; Slack's own retries come with a new timestamp, hence a new signature.
"""

from __future__ import annotations

import heapq
import logging
import time
from collections.abc import Awaitable, Callable

from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

log = logging.getLogger(__name__)

# slack_sdk's SignatureVerifier: |now - timestamp| <= 5 minutes
SIGNATURE_WINDOW_S = 5 * 60
# Far above what one bot can serve in five minutes (its queue holds 64): memory stays a few MB.
MAX_REMEMBERED = 50_000


class ReplayCache:
    """Signatures seen, each kept until its timestamp leaves the validity window; at most
    `max_entries`, the one closest to expiring making room for a new one."""

    def __init__(
        self,
        window_s: float = SIGNATURE_WINDOW_S,
        max_entries: int = MAX_REMEMBERED,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.window_s = window_s
        self.max_entries = max_entries
        self._clock = clock
        self._expiry: dict[str, float] = {}
        self._by_expiry: list[tuple[float, str]] = []  # heap
        self._warned_full = False

    def __len__(self) -> int:
        self._forget_expired()
        return len(self._expiry)

    def first_use(self, signature: str, timestamp: float) -> bool:
        """True the first time a signature is seen inside its window, False for a replay."""
        self._forget_expired()
        if signature in self._expiry:
            return False
        if len(self._expiry) >= self.max_entries:
            if not self._warned_full:
                log.warning("Slack replay cache full (%d signatures): dropping the oldest", self.max_entries)
                self._warned_full = True
            _, oldest = heapq.heappop(self._by_expiry)
            del self._expiry[oldest]
        expires = timestamp + self.window_s
        self._expiry[signature] = expires
        heapq.heappush(self._by_expiry, (expires, signature))
        return True

    def _forget_expired(self) -> None:
        now = self._clock()
        while self._by_expiry and self._by_expiry[0][0] < now:
            _, signature = heapq.heappop(self._by_expiry)
            del self._expiry[signature]


class ReplayGuard(AsyncMiddleware):
    """A bolt middleware, added after bolt's signature check, so only requests that verified
    are remembered: forged ones can neither fill the cache nor get past it."""

    def __init__(self, cache: ReplayCache | None = None) -> None:
        self.cache = cache or ReplayCache()

    async def async_process(
        self, *, req: AsyncBoltRequest, resp: BoltResponse, next: Callable[[], Awaitable[BoltResponse]]
    ) -> BoltResponse:
        signature = req.headers.get("x-slack-signature", [""])[0]
        try:
            timestamp = float(req.headers.get("x-slack-request-timestamp", ["0"])[0])
        except ValueError:  # bolt's check has refused such a request already
            timestamp = 0.0
        if signature and not self.cache.first_use(signature, timestamp):
            log.warning("refused a replayed Slack request (timestamp %.0f)", timestamp)
            return BoltResponse(status=401, body={"error": "replayed request"})
        return await next()
