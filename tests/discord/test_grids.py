"""Four candidates through fake Discord, the real discord.py client and the real service:
a 2x2 grid with Pick and Vary per candidate and Reroll, deterministic first grids, and the
server setting for single covers."""

from __future__ import annotations

import pytest

from albumgan.bot.types import Requester
from tests.discord.test_end_to_end import track_link
from tests.grid_checks import assert_grid_of_singles, grid_seeds, tile_sized, tiles
from tests.stub_service import decoded, pixels

pytestmark = pytest.mark.timeout(60)


def ids_of(message, action: str) -> list[str]:
    return [c for c in message.custom_ids() if c.startswith(f"albumgan:{action}:")]


async def click(fake_discord, message, custom_id: str):
    log = await fake_discord.send_interaction(fake_discord.button_click(custom_id, message=message))
    answer = await log.wait_final()
    assert answer.files and not answer.ephemeral, answer.content
    return answer


async def test_a_grid_to_pick_vary_and_reroll(fake_discord, start_bot, real_service, catalog):
    await start_bot(real_service)
    link = track_link(catalog, 5)
    log = await fake_discord.send_interaction(fake_discord.slash_command("cover", {"link": link}))
    grid = await log.wait_final()
    decoded(grid.file("features.png"))
    picks, varies, rerolls = ids_of(grid, "pick"), ids_of(grid, "variations"), ids_of(grid, "reroll")
    assert len(picks) == len(varies) == 4 and len(rerolls) == 1
    assert [row["components"][0]["label"] for row in grid.components] == ["Pick 1", "Vary 1", "Reroll all"]
    seeds = grid_seeds(grid.file("cover.png"))
    listed = next(f["value"] for f in grid.embeds[0]["fields"] if f["name"] == "Pick one")
    assert f"**4** · seed {seeds[3]}" in listed
    who = Requester("discord", "someone else")
    async with tile_sized(real_service.config) as small:
        singles = [(await small.cover(link, who, seed=seed)).image_png for seed in seeds]
    assert_grid_of_singles(grid.file("cover.png"), singles)

    picked = await click(fake_discord, grid, picks[2])
    single = await real_service.cover(link, who, seed=seeds[2])
    assert pixels(picked.file("cover.png")) == pixels(single.image_png)  # the full cover alone
    assert picked.embeds[1]["image"]["url"] == "attachment://features.png"  # with its card
    assert [c.split(":")[1] for c in picked.custom_ids()] == ["reroll", "variations", "full", "delete"]

    varied = await click(fake_discord, grid, varies[1])
    assert len(ids_of(varied, "pick")) == 4 and len(set(tiles(varied.file("cover.png")))) == 4
    assert grid_seeds(varied.file("cover.png")) == [seeds[1]] * 4  # four nudges of candidate 2

    rerolled = await click(fake_discord, grid, rerolls[0])
    assert set(tiles(rerolled.file("cover.png"))).isdisjoint(tiles(grid.file("cover.png")))

    log = await fake_discord.send_interaction(fake_discord.slash_command("cover", {"link": link}))
    again = await log.wait_final()
    assert tiles(again.file("cover.png")) == tiles(grid.file("cover.png"))  # the song's own first grid


async def test_a_server_may_choose_single_covers(fake_discord, start_bot, real_service):
    await start_bot(real_service)
    await real_service.set_setting(Requester("discord", "admin", guild_id=fake_discord.guild_id), "layout", "single")
    final = await (await fake_discord.send_interaction(fake_discord.slash_command("random", {"seed": 4}))).wait_final()
    assert decoded(final.file("cover.png")).size == (512, 512)
    assert [c.split(":")[1] for c in final.custom_ids()] == ["reroll", "variations", "full", "delete"]
