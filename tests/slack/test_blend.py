"""/blend through fake Slack, the real slack-bolt app and the real service."""

from __future__ import annotations

import pytest

from albumgan.bot import blend
from tests.bot.test_blend import gif_frames, strip_tiles
from tests.discord.test_end_to_end import album_link, track_link

pytestmark = pytest.mark.timeout(60)


async def test_blend_uploads_a_strip_and_an_animation(fake_slack, start_slack, real_service, catalog):
    await start_slack(real_service)
    log = await fake_slack.send_command("/blend", f"<{track_link(catalog, 1)}> {album_link(catalog, 2)}")
    assert (await log.wait_acked())["text"] == "🌈 Blending…"
    await log.wait_for(lambda log: bool(log.uploads and log.messages))
    upload = log.upload()
    assert len(set(strip_tiles(upload.file("blend.png")))) == blend.FRAMES
    assert len(gif_frames(upload.file("blend.gif"))) == 2 * blend.FRAMES - 2
    (message,) = log.messages
    assert " → " in message.all_text and "slerp" in message.all_text


async def test_a_song_blended_with_itself_and_private_seed_blends(fake_slack, start_slack, real_service, catalog):
    await start_slack(real_service)
    log = await fake_slack.send_command("/blend", f"{track_link(catalog, 4)} {track_link(catalog, 4)}")
    await log.wait_for(lambda log: bool(log.uploads))
    assert len(set(strip_tiles(log.upload().file("blend.png")))) == 1

    private = await (await fake_slack.send_command("/blend", "seed:1 seed:2 private", user_id="U0P")).wait_final()
    assert private.ephemeral and len(private.file_ids()) == 2
    assert len(set(strip_tiles(fake_slack.file(private.file_ids()[0])))) == blend.FRAMES
    bad = await (await fake_slack.send_command("/blend", "just-one")).wait_acked()
    assert "/blend <link A> <link B>" in bad["text"]
