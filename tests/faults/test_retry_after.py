"""A Retry-After no one can wait for (issue #14): `1e20`, `inf` or a date in the year 9999 used to
raise OverflowError while the rate-limit message was formatted: a traceback and exit 1 from
`albumgan-data crawl` (not its documented 75), an "internal error" from the bot. Now it is
read as "far past the cap": the crawl stops with exit 75 and one line, the bot answers that
Spotify asked it to slow down."""

from __future__ import annotations

import pytest

from albumgan.bot.service import CoverService
from albumgan.sources.errors import RateLimited
from albumgan.sources.retry import DEFAULT_RETRY_AFTER_S, LONGEST_RETRY_AFTER_S, parse_retry_after
from albumgan.training.data_cli import EXIT_RATE_LIMITED
from tests.faults.programs import bot_toml, crawl, run
from tests.service_fixtures import SPOTIFY_SECRETS, make_config

pytestmark = pytest.mark.timeout(180)

HUGE = ["1e20", "inf", "1e400", "Fri, 31 Dec 9999 23:59:59 GMT"]
CREDENTIALS = {"SPOTIPY_CLIENT_ID": "test-id", "SPOTIPY_CLIENT_SECRET": "test-secret"}


@pytest.mark.parametrize("header", HUGE)
def test_a_huge_retry_after_is_a_long_but_printable_wait(header):
    assert parse_retry_after(header) == LONGEST_RETRY_AFTER_S
    assert "retry after 604800 s (at " in str(RateLimited(parse_retry_after(header)))


@pytest.mark.parametrize(
    ("header", "wait"), [("nan", DEFAULT_RETRY_AFTER_S), ("soon", DEFAULT_RETRY_AFTER_S), ("-inf", 0.0)]
)
def test_a_meaningless_retry_after_is_the_default_wait(header, wait):
    assert parse_retry_after(header) == wait


@pytest.mark.parametrize("header", HUGE)
def test_crawl_stops_with_exit_75_and_one_line(fake_spotify, tmp_path, catalog, header):
    fake_spotify.inject(r"^GET /v1/albums/", 429, times=None, retry_after=header)
    proc = crawl(tmp_path, next(iter(catalog.albums)), spotify=fake_spotify, env=CREDENTIALS)
    assert proc.returncode == EXIT_RATE_LIMITED, proc.stderr
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("ERROR")]
    assert len(errors) == 1 and "spotify rate limit: retry after 604800 s" in errors[0], proc.stderr
    assert "run the same command again after that time" in errors[0]


@pytest.mark.parametrize("header", ["inf", "1e20"])
def test_the_bot_answers_that_spotify_asked_it_to_slow_down(fake_spotify, tmp_path, tiny_models, catalog, header):
    fake_spotify.inject(r"^GET /v1/tracks/", 429, times=None, retry_after=header)
    config = bot_toml(tmp_path, tiny_models, spotify=fake_spotify)
    track = next(iter(catalog.tracks))
    proc = run(
        "bot.cli", "--config", config, "cover", f"spotify:track:{track}", "-o", tmp_path / "c.png", env=CREDENTIALS
    )
    assert proc.returncode == 3, proc.stderr  # unavailable, not an internal error
    assert "Spotify asked me to slow down; try again in 168 hours" in proc.stderr
    assert "internal error" not in proc.stderr and "incident" not in proc.stderr
    assert not (tmp_path / "c.png").exists()


async def test_a_discord_user_is_told_to_wait_without_an_incident(
    fake_discord, start_bot, fake_spotify, fake_recco, tmp_path, tiny_models, catalog, caplog
):
    fake_spotify.inject(r"^GET /v1/tracks/", 429, times=None, retry_after="inf")
    config = make_config(tmp_path, tiny_models, spotify=fake_spotify, recco=fake_recco)
    async with CoverService.from_config(config, secrets=SPOTIFY_SECRETS) as service:
        await start_bot(service)
        link = f"https://open.spotify.com/track/{next(iter(catalog.tracks))}"
        log = await fake_discord.send_interaction(fake_discord.slash_command("cover", {"link": link}))
        final = await log.wait_final()
    assert final.ephemeral and final.content.startswith("Spotify asked me to slow down; try again in 168 hours")
    assert "incident" not in final.content and "incident" not in caplog.text
