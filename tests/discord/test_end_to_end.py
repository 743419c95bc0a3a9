"""The whole path: fake Discord -> real discord.py client -> real CoverService (tiny ONNX
models, aiosqlite, the fair queue) -> fake Spotify/ReccoBeats through spotipy -> PNG back."""

from __future__ import annotations

import dataclasses
import io

import pytest
from PIL import Image

from albumgan.bot.service import CoverService
from albumgan.bot.types import Requester
from fakes.discord import CALLBACK_DEFERRED_MESSAGE
from tests.service_fixtures import SPOTIFY_SECRETS

pytestmark = pytest.mark.timeout(60)

PLAYLIST = "https://open.spotify.com/playlist/37i9dQZF1DXcBWIGoYBM5M?si=abc"


def track_link(catalog, index: int = 0) -> str:
    return f"https://open.spotify.com/track/{list(catalog.tracks)[index]}?si=0123abcd"


def album_link(catalog, index: int = 0) -> str:
    return f"https://open.spotify.com/album/{catalog.album_list[index].id}"


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    image = Image.open(io.BytesIO(data))
    image.load()
    return image.size


async def test_cover_then_reroll_and_variations_through_the_real_service(
    fake_discord, start_bot, real_service, catalog
):
    await real_service.set_setting(Requester("discord", "admin", guild_id=fake_discord.guild_id), "layout", "single")
    await start_bot(real_service)
    track = next(iter(catalog.tracks.values()))
    log = await fake_discord.send_interaction(fake_discord.slash_command("cover", {"link": track_link(catalog)}))
    first = await log.wait_final()
    assert log.callback.payload["type"] == CALLBACK_DEFERRED_MESSAGE
    assert first.kind == "edit_original" and not first.ephemeral, first.content
    assert png_size(first.file("cover.png")) == (512, 512)  # upscaled for display
    png_size(first.file("features.png"))
    embed, _card = first.embeds
    assert embed["title"] == track.name
    assert embed["url"].endswith(track.id)
    assert "energy" in next(f["value"] for f in embed["fields"] if f["name"] == "Features")
    generation = int(embed["footer"]["text"].split()[1])
    buttons = [f"albumgan:{action}:{generation}" for action in ("reroll", "variations", "full", "delete")]
    assert first.custom_ids() == buttons

    images = {first.file("cover.png")}
    for custom_id in first.custom_ids()[:2]:
        click = await fake_discord.send_interaction(fake_discord.button_click(custom_id, message=first))
        answer = await click.wait_final()
        assert answer.files and not answer.ephemeral, answer.content
        new_embed, _card = answer.embeds
        assert new_embed["title"] == track.name
        assert int(new_embed["footer"]["text"].split()[1]) > generation
        images.add(answer.file("cover.png"))
    assert len(images) == 3  # a new seed, and a nudged latent: three different covers


async def test_buttons_survive_a_restart_of_bot_and_service(
    open_service, fake_discord, start_bot, real_config, catalog
):
    async with CoverService.from_config(real_config, secrets=SPOTIFY_SECRETS) as old_service:
        old_bot = await start_bot(old_service)
        log = await fake_discord.send_interaction(fake_discord.slash_command("cover", {"link": track_link(catalog, 3)}))
        first = await log.wait_final()
        await old_bot.close()

    # A new process: new client, new service, same database file.
    await start_bot(await open_service(real_config))
    variations = first.custom_ids()[1]
    click = await fake_discord.send_interaction(fake_discord.button_click(variations, message=first))
    answer = await click.wait_final()
    assert answer.files and not answer.ephemeral, answer.content
    assert answer.embeds[0]["title"] == first.embeds[0]["title"]
    assert answer.file("cover.png") != first.file("cover.png")


async def test_album_cover_averages_its_tracks(fake_discord, start_bot, real_service, catalog):
    await start_bot(real_service)
    log = await fake_discord.send_interaction(fake_discord.slash_command("album", {"link": album_link(catalog, 1)}))
    final = await log.wait_final()
    assert final.files, final.content
    embed, _card = final.embeds
    assert embed["title"] == catalog.album_list[1].name
    features = next(f["value"] for f in embed["fields"] if f["name"] == "Features")
    assert "tracks" in features


HOSTILE = [
    ("cover", "hello there", "couldn't find a Spotify link"),
    ("cover", "x" * 6000, "6,000 characters"),
    ("cover", "'; DROP TABLE generations; --", "couldn't find a Spotify link"),
    ("cover", "\u200b\u202e\U0001f3b5 spotify ✨", "couldn't find a Spotify link"),
    ("cover", PLAYLIST, "That's a playlist link"),
    ("cover", "https://open.spotify.com/artist/0OdUWJ0sBjDrqHygGUXeCF", "That's an artist link"),
    ("cover", "spotify:episode:512ojhOuo1ktJprKbVcKyQ", "podcasts have no audio features"),
    ("cover", "https://open.spotify.com/show/2MAi0BvDc6GTFvKFPXnkCL", "podcasts have no audio features"),
    ("cover", "https://open.spotify.com/track/123", "looks cut off"),
    ("cover", "https://open.spotify.com/track/0000000000000000000000", "Spotify has no track"),
    ("cover", "ALBUM", "That's an album link: use /album"),
    ("album", "TRACK", "That's a track link: use /cover"),
    ("album", "https://open.spotify.com/album/0000000000000000000000", "Spotify has no album"),
]


@pytest.mark.parametrize(("command", "text", "expected"), HOSTILE)
async def test_hostile_inputs_get_the_right_private_message(
    fake_discord, start_bot, real_service, catalog, command, text, expected
):
    text = {"ALBUM": album_link(catalog), "TRACK": track_link(catalog)}.get(text, text)
    await start_bot(real_service)
    log = await fake_discord.send_interaction(fake_discord.slash_command(command, {"link": text}))
    final = await log.wait_final()
    assert final.ephemeral and not final.files
    assert expected in final.content, final.content
    assert len(final.content) < 400 and "incident" not in final.content


async def test_a_button_for_a_cover_this_bot_never_made(fake_discord, start_bot, real_service):
    await start_bot(real_service)
    first = await (await fake_discord.send_interaction(fake_discord.slash_command("random", {"seed": 3}))).wait_final()
    forged_id = first.custom_ids()[0].rsplit(":", 1)[0] + ":987654321"
    # A message carrying the forged button, as a tampering client would make Discord send.
    rows = [{"type": 1, "components": [{"type": 2, "style": 2, "label": "Reroll", "custom_id": forged_id}]}]
    forged = dataclasses.replace(first, payload={**first.payload, "components": rows})
    log = await fake_discord.send_interaction(fake_discord.button_click(forged_id, message=forged))
    final = await log.wait_final()
    assert final.ephemeral and "no cover #987654321" in final.content


async def test_spotify_outage_is_explained_and_random_keeps_working(
    fake_discord, start_bot, real_service, catalog, fake_spotify
):
    await start_bot(real_service)
    fake_spotify.inject(r"^GET /v1/", 503, times=None)
    log = await fake_discord.send_interaction(fake_discord.slash_command("cover", {"link": track_link(catalog, 2)}))
    outage = await log.wait_final()
    assert outage.ephemeral and "Spotify isn't answering" in outage.content
    assert "/random still works" in outage.content

    log = await fake_discord.send_interaction(fake_discord.slash_command("random", {"seed": 11}))
    final = await log.wait_final()
    assert final.files and not final.ephemeral
    assert "seed 11" in next(f["value"] for f in final.embeds[0]["fields"] if f["name"] == "Pick one")


async def test_about_shows_the_loaded_models(fake_discord, start_bot, real_service):
    await start_bot(real_service)
    final = await (await fake_discord.send_interaction(fake_discord.slash_command("about"))).wait_final()
    fields = final.embeds[0]["fields"]
    assert {f["name"].split()[0] for f in fields} == {"unconditional-16", "acgan-16"}
    assert all("16px" in f["value"] for f in fields)


@pytest.mark.parametrize("seed", [-1, 2**32, "7; rm -rf /"])
async def test_a_seed_discord_would_never_send_still_gets_an_answer(fake_discord, start_bot, real_service, seed):
    await start_bot(real_service)
    log = await fake_discord.send_interaction(fake_discord.slash_command("random", {"seed": seed}))
    final = await log.wait_final()
    assert final.ephemeral and not final.files
    assert "incident" not in final.content, final.content
    assert "seed" in final.content.lower(), final.content
