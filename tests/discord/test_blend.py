"""/blend through fake Discord, the real discord.py client and the real service."""

from __future__ import annotations

import pytest

from albumgan.bot import blend
from tests.bot.test_blend import gif_frames, strip_tiles
from tests.discord.test_end_to_end import album_link, track_link

pytestmark = pytest.mark.timeout(60)


async def test_blend_sends_a_strip_and_an_animation(fake_discord, start_bot, real_service, catalog):
    await start_bot(real_service)
    options = {"a": track_link(catalog, 1), "b": album_link(catalog, 2)}
    final = await (await fake_discord.send_interaction(fake_discord.slash_command("blend", options))).wait_final()
    assert not final.ephemeral and not final.custom_ids()
    strip, animation = final.embeds
    assert strip["image"]["url"] == "attachment://blend.png" and animation["image"]["url"] == "attachment://blend.gif"
    assert " → " in strip["title"] and "slerp" in strip["description"]
    assert len(set(strip_tiles(final.file("blend.png")))) == blend.FRAMES
    assert len(gif_frames(final.file("blend.gif"))) == 2 * blend.FRAMES - 2


async def test_a_song_blended_with_itself_is_one_repeated_cover(fake_discord, start_bot, real_service, catalog):
    await start_bot(real_service)
    options = {"a": track_link(catalog, 4), "b": track_link(catalog, 4)}
    final = await (await fake_discord.send_interaction(fake_discord.slash_command("blend", options))).wait_final()
    assert len(set(strip_tiles(final.file("blend.png")))) == 1


async def test_seed_ends_and_a_bad_end(fake_discord, start_bot, real_service):
    await start_bot(real_service)
    options = {"a": "seed:1", "b": "seed:2", "private": True}
    log = await fake_discord.send_interaction(fake_discord.slash_command("blend", options))
    final = await log.wait_final()
    assert log.callback.payload["data"]["flags"] and final.file("blend.png")
    options = {"a": "seed:1", "b": "a song I like"}
    bad = await (await fake_discord.send_interaction(fake_discord.slash_command("blend", options))).wait_final()
    assert bad.ephemeral and "couldn't find a Spotify link" in bad.content
