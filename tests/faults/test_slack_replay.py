"""Slack HTTP mode refuses a replayed request: a signed request is valid for five minutes,
so one that was captured could otherwise be sent again and run again."""

from __future__ import annotations

import pytest

from albumgan.bot.slack_replay import ReplayCache
from tests.stub_service import StubService

pytestmark = pytest.mark.timeout(30)


async def test_the_same_signed_request_sent_twice_makes_one_cover(fake_slack, start_slack):
    service = StubService()
    frontend = await start_slack(service, mode="http")
    url = f"http://127.0.0.1:{frontend.http_port}/slack/events"
    status, _, log = await fake_slack.post_command(url, "/random", "9", user_id="U0HTTP")
    assert status == 200
    assert "*Seed*\n9" in (await log.wait_final()).all_text

    replay_status, replay_body = await fake_slack.resend(url, log)
    assert replay_status == 401 and "replayed" in replay_body
    assert len(service.calls) == 1 and len(fake_slack.uploads) == 1

    # A new request (new timestamp or body, so a new signature) is still served.
    status, _, again = await fake_slack.post_command(url, "/random", "10", user_id="U0HTTP")
    assert status == 200 and "*Seed*\n10" in (await again.wait_final()).all_text
    assert len(service.calls) == 2


def test_the_cache_forgets_what_slack_would_refuse_anyway_and_stays_bounded():
    now = [1_000_000.0]
    cache = ReplayCache(window_s=300, max_entries=3, clock=lambda: now[0])
    assert cache.first_use("v0=a", timestamp=now[0])
    assert not cache.first_use("v0=a", timestamp=now[0])  # a replay inside the window
    now[0] += 301  # past the signature's validity: Slack's check refuses it, the cache lets go
    assert len(cache) == 0
    for signature in ("v0=b", "v0=c", "v0=d", "v0=e"):
        assert cache.first_use(signature, timestamp=now[0])
    assert len(cache) == 3  # the oldest entry made room
    assert not cache.first_use("v0=e", timestamp=now[0])
    # A timestamp in the future stays valid (and remembered) until it is 5 minutes past.
    assert cache.first_use("v0=f", timestamp=now[0] + 200)
    now[0] += 450
    assert not cache.first_use("v0=f", timestamp=now[0] - 250)
