"""/help and /settings through fake Discord, the real discord.py client and the real service."""

from __future__ import annotations

import pytest

from albumgan.bot.config import DiscordCommands
from albumgan.bot.help import COMMANDS
from fakes.discord import EPHEMERAL_FLAG
from tests.stub_service import decoded

pytestmark = pytest.mark.timeout(60)
MANAGE_GUILD = str(1 << 5)


async def run(fake_discord, payload):
    log = await fake_discord.send_interaction(payload)
    return log, await log.wait_final()


async def test_help_lists_every_command_with_an_example(fake_discord, start_bot, real_service):
    await start_bot(real_service, commands=DiscordCommands(cover="albumcover"))
    _, answer = await run(fake_discord, fake_discord.slash_command("help"))
    assert answer.ephemeral
    (embed,) = answer.embeds
    usages = [field["name"] for field in embed["fields"]]
    assert "/albumcover https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC" in usages  # the configured name
    assert "/random 1234" in usages and "/show 42" in usages and usages[-1] == "Buttons"
    assert len(usages) == len(COMMANDS) + 1
    synced = {c["name"]: c for c in fake_discord.commands["global"]}
    assert synced["show"]["description"] == COMMANDS["show"].description
    # Through the Translator: English is the only locale.
    assert synced["show"]["description_localizations"] == {
        "en-US": COMMANDS["show"].description,
        "en-GB": COMMANDS["show"].description,
    }


async def test_only_admins_change_settings_and_they_apply(fake_discord, start_bot, real_service):
    await start_bot(real_service)
    _, shown = await run(fake_discord, fake_discord.slash_command("settings"))
    assert shown.ephemeral and "layout: grid" in shown.content and "private: off" in shown.content
    _, refused = await run(fake_discord, fake_discord.slash_command("settings", {"layout": "single"}))
    assert refused.ephemeral and "Only server admins" in refused.content

    payload = fake_discord.slash_command("settings", {"layout": "single", "private": True})
    payload["member"]["permissions"] = MANAGE_GUILD
    _, saved = await run(fake_discord, payload)
    assert "Settings saved" in saved.content and "layout: single" in saved.content and "private: on" in saved.content

    log, cover = await run(fake_discord, fake_discord.slash_command("random", {"seed": 3}))
    assert decoded(cover.file("cover.png")).size == (512, 512)  # single
    assert log.callback.payload["data"]["flags"] & EPHEMERAL_FLAG  # private by default now
    log, public = await run(fake_discord, fake_discord.slash_command("random", {"seed": 3, "private": False}))
    assert not (log.callback.payload.get("data") or {}).get("flags", 0) & EPHEMERAL_FLAG
