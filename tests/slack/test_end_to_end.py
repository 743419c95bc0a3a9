"""The whole path: fake Slack -> real slack-bolt app (Socket Mode) -> real CoverService (tiny
ONNX models, aiosqlite, the fair queue) -> fake Spotify/ReccoBeats -> PNG uploads back."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from albumgan.bot.types import Requester
from fakes.slack import PUBLIC_CHANNEL, TEAM_ID
from tests.discord.test_end_to_end import HOSTILE, album_link, track_link

pytestmark = pytest.mark.timeout(60)


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    image = Image.open(io.BytesIO(data))
    image.load()
    return image.size


def generation_of(message) -> int:
    return int(message.buttons()[0]["value"])


async def test_cover_buttons_and_a_restart_through_the_real_service(
    open_service, fake_slack, start_slack, real_config, catalog
):
    service = await open_service(real_config)
    await service.set_setting(Requester("slack", "admin", guild_id=TEAM_ID), "layout", "single")
    frontend = await start_slack(service)
    track = next(iter(catalog.tracks.values()))
    log = await fake_slack.send_command("/cover", f"<{track_link(catalog)}>", user_id="U0ALICE")
    first = await log.wait_final()
    assert png_size(log.upload().file("cover.png")) == (512, 512)
    png_size(log.upload().file("features.png"))
    assert track.name in first.all_text and track.id in first.all_text  # linked title
    assert "energy" in first.all_text and "*Seed*" in first.all_text
    generation = generation_of(first)
    stored = await service.db.get_generation(generation)
    assert (stored.platform, stored.user_id, stored.channel_id, stored.guild_id) == (
        "slack",
        "U0ALICE",
        PUBLIC_CHANNEL,
        TEAM_ID,
    )

    images = {log.upload().file("cover.png")}
    click = await fake_slack.click(first, "albumgan:reroll")
    assert track.name in (await click.wait_final()).all_text
    images.add(click.upload().file("cover.png"))

    await frontend.close()
    await service.close()
    # A new process: new app, new service, same database; the old message's button works.
    await start_slack(await open_service(real_config))
    click = await fake_slack.click(first, "albumgan:variations")
    answer = await click.wait_final()
    assert answer.buttons() and generation_of(answer) > generation
    images.add(click.upload().file("cover.png"))
    assert len(images) == 3  # a new seed, and a nudged latent: three different covers


async def test_a_cover_made_on_discord_is_rerolled_from_slack(open_service, fake_slack, start_slack, real_config):
    service = await open_service(real_config)
    await start_slack(service)
    made = await service.random(Requester(platform="discord", user_id="42", guild_id="7"), seed=3)
    forged = await (await fake_slack.send_command("/random", "1")).wait_final()
    click = await fake_slack.click(forged, "albumgan:reroll", value=str(made.generation_id))
    answer = await click.wait_final()
    assert answer.buttons() and "Random cover" in answer.all_text
    child = await service.db.get_generation(generation_of(answer))
    assert child.parent_id == made.generation_id and child.platform == "slack"


async def test_album_cover_averages_its_tracks(open_service, fake_slack, start_slack, real_config, catalog):
    await start_slack(await open_service(real_config))
    log = await fake_slack.send_command("/album", album_link(catalog, 1))
    final = await log.wait_final()
    assert catalog.album_list[1].name in final.all_text and "tracks" in final.all_text


async def test_hostile_inputs_get_the_right_private_message(
    open_service, fake_slack, start_slack, real_config, catalog
):
    await start_slack(await open_service(real_config))
    for i, (command, text, expected) in enumerate(HOSTILE):
        text = {"ALBUM": album_link(catalog), "TRACK": track_link(catalog)}.get(text, text)
        log = await fake_slack.send_command(f"/{command}", text, user_id=f"U0HOSTILE{i}")
        answer = await log.wait_final()
        assert answer.ephemeral and not log.uploads, (text[:40], answer.text)
        assert expected in answer.text.replace("`", ""), (text[:40], answer.text)
        assert len(answer.text) < 400 and "incident" not in answer.text


async def test_a_button_for_a_cover_this_bot_never_made(open_service, fake_slack, start_slack, real_config):
    await start_slack(await open_service(real_config))
    first = await (await fake_slack.send_command("/random", "3")).wait_final()
    click = await fake_slack.click(first, "albumgan:reroll", value="987654321")
    answer = await click.wait_final()
    assert answer.ephemeral and "no cover #987654321" in answer.text


async def test_spotify_outage_is_explained_and_random_keeps_working(
    open_service, fake_slack, start_slack, real_config, catalog, fake_spotify
):
    await start_slack(await open_service(real_config))
    fake_spotify.inject(r"^GET /v1/", 503, times=None)
    outage = await (await fake_slack.send_command("/cover", track_link(catalog, 2))).wait_final()
    assert outage.ephemeral and "Spotify isn't answering" in outage.text
    final = await (await fake_slack.send_command("/random", "11")).wait_final()
    assert "*1* · seed 11" in final.all_text  # a grid of seeds 11 to 14


async def test_out_of_range_seed_and_about(open_service, fake_slack, start_slack, real_config):
    await start_slack(await open_service(real_config))
    answer = await (await fake_slack.send_command("/random", str(2**32))).wait_final()
    assert answer.ephemeral and "seed" in answer.text.lower() and "incident" not in answer.text
    about = await (await fake_slack.send_command("/about")).wait_acked()
    assert "unconditional-16" in about["text"] and "acgan-16" in about["text"]
