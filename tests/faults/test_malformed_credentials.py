"""A credential pasted with a line break, a space or a typographic character (issue #14) is bad
config: one line naming the variable, exit 2, and never the value itself. It used to fail deep
inside spotipy (UnicodeEncodeError: "internal error", exit 1) or aiohttp."""

from __future__ import annotations

import pytest

from tests.faults.programs import bot_toml, crawl, run

pytestmark = pytest.mark.timeout(180)

HALVES = ("first-half-of-token", "second-half-of-token")
SPOTIFY_ID = {"SPOTIPY_CLIENT_ID": "0a1b2c3d4e5f60718293a4b5c6d7e8f9"}


def assert_one_line_naming(proc, variable: str, problem: str, value: str) -> None:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and f"{variable} is malformed: it contains {problem}" in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr
    for part in value.split():
        assert part not in proc.stderr + proc.stdout


@pytest.mark.parametrize(
    ("variable", "value", "problem"),
    [
        ("DISCORD_TOKEN", "\n".join(HALVES), "a line break"),
        ("DISCORD_TOKEN", "ＭＴＩｚ-full-width-token", "a non-ASCII character"),
        ("SLACK_BOT_TOKEN", "xoxb-" + " ".join(HALVES), "a space"),
    ],
)
def test_serve_refuses_a_malformed_token(tmp_path, tiny_models, variable, value, problem):
    config = bot_toml(tmp_path, tiny_models)
    flag = "--discord" if variable == "DISCORD_TOKEN" else "--slack"
    proc = run("bot.cli", "--config", config, "serve", flag, env={variable: value}, timeout=60)
    assert_one_line_naming(proc, variable, problem, value)


def test_cover_refuses_a_non_ascii_spotify_secret(tmp_path, tiny_models):
    config = bot_toml(tmp_path, tiny_models)
    secret = "sécret-with-an-accent"
    env = {**SPOTIFY_ID, "SPOTIPY_CLIENT_SECRET": secret}
    proc = run("bot.cli", "--config", config, "cover", "spotify:track:6rqhFgbbKwnb9MLmUQDhG6", env=env)
    assert_one_line_naming(proc, "SPOTIPY_CLIENT_SECRET", "a non-ASCII character", secret)


def test_crawl_refuses_a_non_ascii_spotify_secret(tmp_path):
    secret = "sécret-with-an-accent"
    env = {**SPOTIFY_ID, "SPOTIPY_CLIENT_SECRET": secret}
    proc = crawl(tmp_path, "6rqhFgbbKwnb9MLmUQDhG6", env=env)
    assert_one_line_naming(proc, "SPOTIPY_CLIENT_SECRET", "a non-ASCII character", secret)
