"""Secrets never appear in logs, at any level, from any library (issue #14): `albumgan -v cover`
and `albumgan-data -v crawl` used to log spotipy's `Authorization: Basic <base64 id:secret>`
and the Bearer token. The programs run against the fake Spotify with known secrets set, and
their whole output is searched."""

from __future__ import annotations

import base64
import io
import logging
import re

import pytest
import requests

from albumgan.logsafe import REDACTED, RedactSecrets
from fakes.reccobeats import FakeReccoBeats
from fakes.spotify import FakeSpotify, make_catalog
from tests.faults.programs import bot_toml, crawl, run
from tests.service_fixtures import REPO

pytestmark = pytest.mark.timeout(180)

CLIENT_ID = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
CLIENT_SECRET = "f9e8d7c6b5a4938271605f4e3d2c1b0a"
ENV = {
    "SPOTIPY_CLIENT_ID": CLIENT_ID,
    "SPOTIPY_CLIENT_SECRET": CLIENT_SECRET,
    "DISCORD_TOKEN": "MTA5ODc2NTQzMjEwOTg3NjU0.GhIjKl.discord-secret-part-0123456789abcdef",
    "SLACK_BOT_TOKEN": "xoxb-111-222-slackbotsecret",
    "SLACK_APP_TOKEN": "xapp-1-A111-222-slackappsecret",
    "SLACK_SIGNING_SECRET": "0123456789abcdef0123456789abcdef",
}


@pytest.fixture(scope="module")
def catalog():
    return make_catalog(n_albums=2, tracks_per_album=3, seed=11)


@pytest.fixture
def servers(catalog):
    with (
        FakeSpotify(catalog, client_id=CLIENT_ID, client_secret=CLIENT_SECRET) as spotify,
        FakeReccoBeats(catalog) as recco,
    ):
        yield spotify, recco


def secrets_of(spotify: FakeSpotify) -> list[str]:
    """Every secret the output must not hold: the env values, the Basic credentials, and the
    access token the fake issues (asked for here the way spotipy asks)."""
    answer = requests.post(
        spotify.token_url, data={"grant_type": "client_credentials"}, auth=(CLIENT_ID, CLIENT_SECRET), timeout=10
    )
    basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    return [basic, answer.json()["access_token"], *ENV.values()]


def assert_no_secrets(output: str, secrets: list[str]) -> None:
    for secret in secrets:
        assert secret not in output, f"a secret ({secret[:4]}...) is in the output"
    assert REDACTED in output  # the credentials were logged, and redacted


def test_cover_with_verbose_logging_shows_no_credentials(servers, tmp_path, tiny_models, catalog):
    spotify, recco = servers
    config = bot_toml(tmp_path, tiny_models, spotify=spotify, recco=recco)
    track = next(iter(catalog.tracks))
    proc = run(
        "bot.cli", "-v", "--config", config, "cover", f"spotify:track:{track}", "-o", tmp_path / "c.png", env=ENV
    )
    assert proc.returncode == 0, proc.stderr
    output = proc.stdout + proc.stderr
    assert "DEBUG spotipy" in output and "Authorization" in output  # spotipy's header lines were logged
    assert_no_secrets(output, secrets_of(spotify))


def test_crawl_with_verbose_logging_shows_no_credentials(servers, tmp_path, catalog):
    spotify, recco = servers
    proc = crawl(tmp_path, next(iter(catalog.albums)), spotify=spotify, recco=recco, verbose=True, env=ENV)
    assert proc.returncode == 0, proc.stderr
    output = proc.stdout + proc.stderr
    assert "DEBUG spotipy" in output
    assert_no_secrets(output, secrets_of(spotify))


def test_records_of_any_logger_are_redacted_with_their_arguments_and_tracebacks(monkeypatch):
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets())
    logger = logging.getLogger("some.library.deep.inside")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        logger.debug("headers %s", {"Authorization": f"Bearer {'opaque-bearer-value'}"})
        logger.info('token answer: {"access_token": "%s", "refresh_token": "rt-value-1"}', "at-value-1")
        logger.warning("POST /api/v10/interactions/123456/interaction-token-value/callback returned 404")
        logger.warning("GET /callback?code=1&access_token=url-token-value&state=x")
        logger.error("slack said no to %s and %s", "xoxp-9-8-userslacktoken", "xoxe.xoxp-1-rotated")
        try:
            raise RuntimeError(f"login failed for {ENV['DISCORD_TOKEN']}")
        except RuntimeError:
            logger.exception("client secret %s refused", CLIENT_SECRET)
        logger.critical("stack", stack_info=True, extra={})
    finally:
        logger.removeHandler(handler)
    text = out.getvalue()
    for secret in (
        "opaque-bearer-value",
        "at-value-1",
        "rt-value-1",
        "interaction-token-value",
        "url-token-value",
        "userslacktoken",
        *ENV.values(),
    ):
        assert secret not in text, secret
    assert "Traceback" in text and "RuntimeError: login failed for " + REDACTED in text
    assert text.count(REDACTED) >= 8


def test_every_program_sets_up_logging_through_the_redacting_set_up():
    """A program that called logging.basicConfig itself would log secrets again."""
    calls = [
        path.relative_to(REPO).as_posix()
        for folder in ("albumgan", "bot", "training", "export")
        for path in (REPO / folder).rglob("*.py")
        if re.search(r"logging\.basicConfig\(", path.read_text(encoding="utf-8"))
    ]
    assert calls == ["albumgan/logsafe.py"]
