"""Slash commands and buttons through the real discord.py client and the fake Discord."""

from __future__ import annotations

import dataclasses
import logging
import re

import pytest

from albumgan.bot.config import DiscordCommands
from albumgan.bot.types import ServiceUnavailable, UserError
from fakes.discord import CALLBACK_DEFERRED_MESSAGE
from tests.stub_service import StubService, decoded


async def test_commands_sync_and_random_answers_with_png_embed_and_buttons(fake_discord, start_bot):
    service = StubService()
    await start_bot(service)
    assert not service.started  # frontends borrow the service; its owner starts it
    synced = {c["name"]: c for c in fake_discord.commands["global"]}
    assert set(synced) == set(dataclasses.asdict(DiscordCommands()).values())  # every command in the config
    seed_option = synced["random"]["options"][0]
    assert (seed_option["name"], seed_option["type"], seed_option["required"]) == ("seed", 4, False)
    assert seed_option["min_value"] == 0 and seed_option["max_value"] == 2**32 - 1

    log = await fake_discord.send_interaction(fake_discord.slash_command("random", {"seed": 7}))
    final = await log.wait_final()

    assert log.responses[0].kind == "callback"
    assert log.responses[0].payload["type"] == CALLBACK_DEFERRED_MESSAGE
    assert final.kind == "edit_original" and not final.ephemeral
    assert decoded(final.file("cover.png")).size == (32, 32)
    assert final.payload["attachments"][0]["filename"] == "cover.png"
    (embed,) = final.embeds
    assert embed["title"] == "Random cover"
    assert embed["image"]["url"] == "attachment://cover.png"
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Seed"] == "7" and fields["Model"] == "stub v1"
    assert embed["footer"]["text"].startswith("generation 101")
    assert final.custom_ids() == [f"albumgan:{a}:101" for a in ("reroll", "variations", "full", "delete")]
    kind, seed, who = service.calls[0]
    assert (kind, seed, who.platform) == ("random", 7, "discord")
    assert who.guild_id == fake_discord.guild_id and who.channel_id == fake_discord.channel_id


async def test_cover_sends_features_card_and_summary(fake_discord, start_bot):
    service = StubService()
    await start_bot(service)
    link = "https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC"
    log = await fake_discord.send_interaction(fake_discord.slash_command("cover", {"link": link}))
    final = await log.wait_final()
    assert [f.filename for f in final.files] == ["cover.png", "features.png"]
    decoded(final.file("features.png"))
    embed, card = final.embeds
    assert card["image"]["url"] == "attachment://features.png"  # full width, readable
    assert "thumbnail" not in embed
    features = next(f["value"] for f in embed["fields"] if f["name"] == "Features")
    assert "energy 0.80" in features and "tempo 120 BPM" in features
    assert "popularity unknown" in features
    assert service.calls[0][1] == link


async def test_queue_position_edits_the_deferred_message(fake_discord, start_bot):
    service = StubService()
    service.queue_position = 3
    await start_bot(service)
    log = await fake_discord.send_interaction(fake_discord.slash_command("random"))
    await log.wait_final()
    notice, result = log.messages
    assert notice.kind == "edit_original" and "#3 in line" in notice.content
    assert result.files and result.payload.get("content") is None


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (UserError("That's a playlist link; paste a track link."), "That's a playlist link"),
        (ServiceUnavailable("Spotify isn't answering right now."), "Spotify isn't answering"),
    ],
)
async def test_expected_failures_answer_privately(fake_discord, start_bot, error, expected):
    service = StubService()
    service.fail_with = error
    await start_bot(service)
    log = await fake_discord.send_interaction(fake_discord.slash_command("cover", {"link": "x"}))
    final = await log.wait_final()
    kinds = [r.kind for r in log.responses]
    # The public "thinking" message is removed so the answer is only seen by the requester.
    assert kinds == ["callback", "delete_original", "followup"]
    assert final.ephemeral and final.content.startswith(expected)
    assert not final.files


async def test_internal_error_is_logged_with_an_incident_id(fake_discord, start_bot, caplog):
    service = StubService()
    service.fail_with = RuntimeError("onnxruntime exploded")
    await start_bot(service)
    with caplog.at_level(logging.ERROR, logger="albumgan.bot.types"):
        log = await fake_discord.send_interaction(fake_discord.slash_command("random"))
        final = await log.wait_final()
    match = re.search(r"incident ([0-9a-f]{6})", final.content)
    assert final.ephemeral and match, final.content
    assert "onnxruntime" not in final.content
    record = next(r for r in caplog.records if match.group(1) in r.getMessage())
    assert record.exc_info and "onnxruntime exploded" in str(record.exc_info[1])


async def test_buttons_reroll_and_vary_the_generation(fake_discord, start_bot):
    service = StubService()
    await start_bot(service)
    first = await (await fake_discord.send_interaction(fake_discord.slash_command("random"))).wait_final()
    reroll_id, variations_id, _full, _delete = first.custom_ids()

    for custom_id, kind in ((reroll_id, "reroll"), (variations_id, "variation")):
        click = fake_discord.button_click(custom_id, message=first)
        log = await fake_discord.send_interaction(click)
        final = await log.wait_final()
        assert log.callback.payload["type"] == CALLBACK_DEFERRED_MESSAGE
        assert final.kind == "edit_original" and final.file("cover.png")
        assert service.calls[-1][:2] == (kind, 101)
    assert final.custom_ids() == [f"albumgan:{a}:103" for a in ("reroll", "variations", "full", "delete")]


async def test_buttons_work_after_a_restart(fake_discord, start_bot):
    service = StubService()
    old_bot = await start_bot(service)
    first = await (await fake_discord.send_interaction(fake_discord.slash_command("random"))).wait_final()
    await old_bot.close()

    await start_bot(service)  # a new process object: nothing in memory but the registry
    log = await fake_discord.send_interaction(fake_discord.button_click(first.custom_ids()[0], message=first))
    final = await log.wait_final()
    assert final.file("cover.png") and service.calls[-1][:2] == ("reroll", 101)


async def test_reconnect_resumes_and_replays_missed_interactions(fake_discord, start_bot):
    service = StubService()
    await start_bot(service)
    await fake_discord.drop_connections()
    # Sent while the socket is down: Discord replays it on RESUME.
    log = await fake_discord.send_interaction(fake_discord.slash_command("random", {"seed": 1}))
    await fake_discord.wait_for_connections(2)
    final = await log.wait_final()
    assert fake_discord.resumes and fake_discord.resumes[0]["session_id"]
    assert len(fake_discord.identifies) == 1
    assert final.file("cover.png")


async def test_heartbeats_are_acked_and_a_zombie_connection_is_resumed(fake_discord, start_bot):
    fake_discord.heartbeat_interval_ms = 50
    await start_bot(StubService(), client_options={"heartbeat_timeout": 2.0})
    await fake_discord.wait_until(lambda: fake_discord.heartbeats >= 4)
    assert (len(fake_discord.identifies), len(fake_discord.resumes)) == (1, 0)

    fake_discord.ack_heartbeats = False  # the edge stops answering: discord.py must notice
    await fake_discord.wait_for_connections(2)
    assert len(fake_discord.identifies) == 1 and len(fake_discord.resumes) == 1
    fake_discord.ack_heartbeats = True
    log = await fake_discord.send_interaction(fake_discord.slash_command("random"))
    assert (await log.wait_final()).file("cover.png")


async def test_about_lists_models_privately(fake_discord, start_bot):
    await start_bot(StubService())
    log = await fake_discord.send_interaction(fake_discord.slash_command("about"))
    final = await log.wait_final()
    assert final.kind == "callback" and final.ephemeral
    assert final.embeds[0]["title"] == "AlbumGAN"


async def test_a_button_nobody_handles_still_gets_an_answer(fake_discord, start_bot):
    service = StubService()
    await start_bot(service)
    first = await (await fake_discord.send_interaction(fake_discord.slash_command("random"))).wait_final()
    legacy_id = "cover:reroll"  # an older custom_id scheme, no generation id
    rows = [{"type": 1, "components": [{"type": 2, "style": 2, "label": "Reroll", "custom_id": legacy_id}]}]
    old_message = dataclasses.replace(first, payload={**first.payload, "components": rows})
    log = await fake_discord.send_interaction(fake_discord.button_click(legacy_id, message=old_message))
    final = await log.wait_final()
    assert final.ephemeral and "older version" in final.content
    assert [c[0] for c in service.calls] == ["random"]
