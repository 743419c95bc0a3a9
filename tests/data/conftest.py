"""Fixtures for the dataset-builder tests: a fake catalogue served by the fake Spotify and
ReccoBeats servers, and clients pointed at them."""

from __future__ import annotations

import pytest

from albumgan.sources import RetryPolicy, SpotifyCatalog, spotify_client
from fakes.spotify import make_catalog


class SleepRecorder:
    """Stands in for time.sleep so a test can check what the client chose to wait."""

    def __init__(self):
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def catalog():
    """The data tests' catalogue; fake_spotify and fake_recco (tests/service_fixtures.py) serve it."""
    return make_catalog(n_albums=6, tracks_per_album=5, seed=3)


@pytest.fixture
def sleeps():
    return SleepRecorder()


@pytest.fixture
def spotify(fake_spotify, sleeps):
    sp = spotify_client("test-id", "test-secret", api_base=fake_spotify.api_base, token_url=fake_spotify.token_url, timeout_s=2)
    return SpotifyCatalog(sp, retry=RetryPolicy(max_retry_after_s=5, sleep=sleeps))
