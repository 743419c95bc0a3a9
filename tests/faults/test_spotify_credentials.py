"""Spotify refusing the bot's credentials (issue #14) is a configuration problem, not an
outage: the operator gets one clear error in the log (never the secret), chat users a line
that does not blame Spotify's availability, and /random keeps working."""

from __future__ import annotations

import logging

import pytest

from albumgan.bot.config import Secrets
from albumgan.bot.service import CoverService
from albumgan.bot.types import Requester, ServiceUnavailable
from tests.service_fixtures import SPOTIFY_SECRETS, make_config

pytestmark = pytest.mark.timeout(60)

WRONG_SECRET = "wrong-secret-3f9a1c"


@pytest.fixture(params=["wrong secret (400)", "refused client (401)"])
async def refused_service(request, tmp_path, tiny_models, fake_spotify, fake_recco):
    """A service whose Spotify credentials the token endpoint refuses."""
    secrets = SPOTIFY_SECRETS
    if "400" in request.param:  # the fake answers a wrong secret as Spotify does
        secrets = Secrets(spotify_client_id="test-id", spotify_client_secret=WRONG_SECRET)
    else:
        refusal = {"error": "invalid_client", "error_description": "Invalid client"}
        fake_spotify.inject(r"^POST /api/token", 401, times=None, body=refusal)
    config = make_config(tmp_path, tiny_models, spotify=fake_spotify, recco=fake_recco)
    async with CoverService.from_config(config, secrets=secrets) as service:
        yield service


async def test_refused_credentials_tell_the_operator_once_and_users_without_blaming_spotify(
    refused_service, catalog, caplog
):
    caplog.set_level(logging.INFO)
    answers = []
    for i, track_id in enumerate(list(catalog.tracks)[:3]):
        with pytest.raises(ServiceUnavailable) as refused:
            await refused_service.cover(f"spotify:track:{track_id}", Requester("discord", f"fan{i}"))
        answers.append(str(refused.value))
    assert len(set(answers)) == 1
    answer = answers[0]
    assert "isn't answering" not in answer and "try again later" not in answer, answer
    assert "operator" in answer and "/random still works" in answer, answer
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, [r.getMessage() for r in errors]  # once, not once per request
    message = errors[0].getMessage()
    assert "refused the bot's credentials" in message and "SPOTIPY_CLIENT_SECRET" in message, message
    assert WRONG_SECRET not in caplog.text
    assert (await refused_service.random(Requester("discord", "dj"), seed=4)).image_png.startswith(b"\x89PNG")


async def test_a_discord_user_is_told_the_bot_is_misconfigured(fake_discord, start_bot, refused_service, catalog):
    await start_bot(refused_service)
    link = f"https://open.spotify.com/track/{list(catalog.tracks)[0]}"
    final = await (
        await fake_discord.send_interaction(fake_discord.slash_command("cover", {"link": link}))
    ).wait_final()
    assert final.ephemeral and "operator" in final.content, final.content
    assert "isn't answering" not in final.content and "incident" not in final.content
