"""/history and /show through fake Discord, the real discord.py client and the real service."""

from __future__ import annotations

import pytest

from albumgan.bot.types import Requester
from tests.discord.test_end_to_end import track_link

pytestmark = pytest.mark.timeout(60)


async def command(fake_discord, name: str, options: dict | None = None, user_id: str = ""):
    log = await fake_discord.send_interaction(fake_discord.slash_command(name, options, user_id=user_id))
    return await log.wait_final()


async def test_history_pages_privately_and_show_remakes_byte_identical_pngs(
    fake_discord, start_bot, real_service, catalog
):
    await start_bot(real_service)
    admin = Requester("discord", "admin", guild_id=fake_discord.guild_id)
    await real_service.set_setting(admin, "layout", "single")
    single = await command(fake_discord, "cover", {"link": track_link(catalog, 6)}, user_id="1001")
    single_id = int(single.custom_ids()[0].rsplit(":", 1)[1])
    await real_service.set_setting(admin, "layout", "grid")
    for seed in (1, 2, 3):  # three grids: twelve more covers
        await command(fake_discord, "random", {"seed": seed}, user_id="1001")

    first = await command(fake_discord, "history", user_id="1001")
    assert first.ephemeral and not first.files
    assert first.content.startswith("Your covers, page 1") and first.content.count("\n#") == 10
    assert "seed 6" in first.content.splitlines()[1]  # newest first: the last grid's fourth cover
    (older,) = first.custom_ids()
    log = await fake_discord.send_interaction(fake_discord.button_click(older, message=first, user_id="1001"))
    await log.wait_for(lambda log: any(r.content.startswith("Your covers, page 2") for r in log.messages))
    second = log.messages[-1]
    assert f"#{single_id} · track" in second.content and second.content.count("\n#") == 3
    assert [c.rsplit(":", 1)[1] for c in second.custom_ids()] == ["0"]  # Newer only

    nobody = await command(fake_discord, "history", user_id="1002")
    assert nobody.ephemeral and "no covers" in nobody.content

    shown = await command(fake_discord, "show", {"cover": single_id}, user_id="1002")  # made in this server
    assert not shown.ephemeral
    assert shown.file("cover.png") == single.file("cover.png")  # byte for byte, parameters included
    assert shown.file("features.png") == single.file("features.png")
    unknown = await command(fake_discord, "show", {"cover": 999_999}, user_id="1001")
    assert unknown.ephemeral and "no cover #999999" in unknown.content


async def test_show_refuses_a_cover_made_elsewhere(fake_discord, start_bot, real_service):
    await start_bot(real_service)
    private = await real_service.random(Requester("discord", "1003", guild_id=""), seed=1)  # made in a DM
    refused = await command(fake_discord, "show", {"cover": private.generation_id}, user_id="1004")
    assert refused.ephemeral and "isn't yours" in refused.content
    mine = await command(fake_discord, "show", {"cover": private.generation_id}, user_id="1003")
    assert mine.files and not mine.ephemeral
