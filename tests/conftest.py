"""Suite-wide fixtures. Area fixtures live in tests/<area>/conftest.py; fake servers in
fakes/."""

import os

import pytest

# Tiny exported models, fake Spotify/ReccoBeats and a wired CoverService, for every bot frontend.
pytest_plugins = ["tests.service_fixtures"]

SECRET_VARS = (
    "DISCORD_TOKEN",
    "SPOTIPY_CLIENT_ID",
    "SPOTIPY_CLIENT_SECRET",
    "SPOTIFY_CLIENT_ID",
    "SPOTIFY_CLIENT_SECRET",
    "SLACK_BOT_TOKEN",
    "SLACK_APP_TOKEN",
    "SLACK_SIGNING_SECRET",
)


@pytest.fixture(autouse=True)
def _no_real_secrets(monkeypatch):
    """Tests never see the developer's real tokens; each test sets what it needs."""
    for name in SECRET_VARS:
        monkeypatch.delenv(name, raising=False)


def pytest_configure(config):
    # Two cores are shared by the whole suite: keep torch from oversubscribing them.
    os.environ.setdefault("OMP_NUM_THREADS", "2")
