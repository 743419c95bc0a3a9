"""Full size, Delete (only the requester or a server admin), private answers, DMs and user
installs, through fake Discord, the real discord.py client and the real service."""

from __future__ import annotations

import pytest

from albumgan.bot.grids import FULL_SIZE
from albumgan.bot.imaging import read_png_text
from albumgan.bot.types import Requester
from fakes.discord import EPHEMERAL_FLAG
from tests.discord.test_end_to_end import track_link
from tests.stub_service import decoded

pytestmark = pytest.mark.timeout(90)
MANAGE_GUILD = str(1 << 5)


async def run(fake_discord, payload):
    log = await fake_discord.send_interaction(payload)
    return log, await log.wait_final()


def deferred_privately(log) -> bool:
    return bool((log.callback.payload.get("data") or {}).get("flags", 0) & EPHEMERAL_FLAG)


def button(message, action: str) -> str:
    return next(c for c in message.custom_ids() if c.startswith(f"albumgan:{action}:"))


async def test_full_size_sends_the_cover_at_3000_px_with_its_parameters(fake_discord, start_bot, real_service, catalog):
    await start_bot(real_service)
    await real_service.set_setting(Requester("discord", "x", guild_id=fake_discord.guild_id), "layout", "single")
    _, cover = await run(fake_discord, fake_discord.slash_command("cover", {"link": track_link(catalog, 2)}))
    _, full = await run(fake_discord, fake_discord.button_click(button(cover, "full"), message=cover))
    data = full.file(f"cover-{FULL_SIZE}.png")
    assert decoded(data).size == (FULL_SIZE, FULL_SIZE)
    assert "Enlarged from the model's 16 px" in full.content and not full.custom_ids()
    text = read_png_text(data)
    cover_id = button(cover, "full").rsplit(":", 1)[1]
    assert text["cover_id"] == cover_id and text["enlarged"] == f"16 px to {FULL_SIZE} px"
    assert text["seed"] == read_png_text(cover.file("cover.png"))["seed"]


async def test_only_the_requester_or_a_server_admin_can_delete(fake_discord, start_bot, real_service):
    await start_bot(real_service)
    _, grid = await run(fake_discord, fake_discord.slash_command("random", {"seed": 8}, user_id="2001"))
    delete = button(grid, "delete")
    ids = [int(i) for i in delete.rsplit(":", 1)[1].split(",")]
    assert len(ids) == 4  # the whole grid

    _, refused = await run(fake_discord, fake_discord.button_click(delete, message=grid, user_id="2002"))
    assert refused.ephemeral and "Only the person who asked" in refused.content
    assert all([await real_service.db.get_generation(i) for i in ids])

    log = await fake_discord.send_interaction(fake_discord.button_click(delete, message=grid, user_id="2001"))
    await log.wait_for(lambda log: any(r.kind == "delete_original" for r in log.responses))
    assert [await real_service.db.get_generation(i) for i in ids] == [None] * 4

    _, second = await run(fake_discord, fake_discord.slash_command("random", {"seed": 9}, user_id="2001"))
    payload = fake_discord.button_click(button(second, "delete"), message=second, user_id="2003")
    payload["member"]["permissions"] = MANAGE_GUILD  # a moderator
    log = await fake_discord.send_interaction(payload)
    await log.wait_for(lambda log: any(r.kind == "delete_original" for r in log.responses))
    assert await real_service.db.get_generation(int(button(second, "pick").rsplit(":", 1)[1])) is None


async def test_private_answers_and_their_buttons_stay_private(fake_discord, start_bot, real_service, catalog):
    await start_bot(real_service)
    log, grid = await run(
        fake_discord, fake_discord.slash_command("cover", {"link": track_link(catalog), "private": True})
    )
    assert deferred_privately(log) and grid.file("cover.png")
    log, picked = await run(fake_discord, fake_discord.button_click(button(grid, "pick"), message=grid, ephemeral=True))
    assert deferred_privately(log) and picked.file("features.png")
    log, public = await run(fake_discord, fake_discord.slash_command("random", {"seed": 1}))
    assert not deferred_privately(log) and public.files


async def test_usable_in_dms_and_as_a_user_installed_app(fake_discord, start_bot, real_service):
    await start_bot(real_service)
    for command in fake_discord.commands["global"]:
        assert command["contexts"] == [0, 1, 2] and command["integration_types"] == [0, 1], command["name"]
    log, final = await run(fake_discord, fake_discord.in_dm(fake_discord.slash_command("random", {"seed": 2})))
    assert final.file("cover.png") and not final.ephemeral
    made = await real_service.db.get_generation(int(button(final, "pick").rsplit(":", 1)[1]))
    assert made.guild_id == "" and made.channel_id == log.payload["channel_id"]
