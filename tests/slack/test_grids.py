"""Four candidates through fake Slack, the real slack-bolt app and the real service: a 2x2
grid with Pick and Vary per candidate and Reroll, deterministic first grids, and the team
setting for single covers."""

from __future__ import annotations

import pytest

from albumgan.bot.types import Requester
from fakes.slack import TEAM_ID
from tests.discord.test_end_to_end import album_link
from tests.grid_checks import assert_grid_of_singles, grid_seeds, tile_sized, tiles
from tests.stub_service import decoded, pixels

pytestmark = pytest.mark.timeout(60)


def values_of(message, action: str) -> list[str]:
    return [b["value"] for b in message.buttons() if b["action_id"] == f"albumgan:{action}"]


async def click(fake_slack, message, action: str, value: str):
    log = await fake_slack.click(message, f"albumgan:{action}", value=value)
    answer = await log.wait_final()
    assert answer.buttons() and not answer.ephemeral, answer.text
    return log, answer


async def test_a_grid_to_pick_vary_and_reroll(fake_slack, start_slack, real_service, catalog):
    await start_slack(real_service)
    link = album_link(catalog, 2)
    log = await fake_slack.send_command("/album", link)
    grid = await log.wait_final()
    grid_png = log.upload().file("cover.png")
    decoded(log.upload().file("features.png"))
    picks, varies, rerolls = values_of(grid, "pick"), values_of(grid, "variations"), values_of(grid, "reroll")
    assert len(picks) == len(varies) == 4 and len(rerolls) == 1
    assert [b["text"]["text"] for b in grid.buttons()][::4] == ["✅ Pick 1", "🔀 Vary 1", "🎲 Reroll all"]
    seeds = grid_seeds(grid_png)
    assert f"*4* · seed {seeds[3]}" in grid.all_text
    who = Requester("slack", "someone else")
    async with tile_sized(real_service.config) as small:
        singles = [(await small.album(link, who, seed=seed)).image_png for seed in seeds]
    assert_grid_of_singles(grid_png, singles)

    picked_log, picked = await click(fake_slack, grid, "pick", picks[2])
    single = await real_service.album(link, who, seed=seeds[2])
    assert pixels(picked_log.upload().file("cover.png")) == pixels(single.image_png)  # the full cover alone
    decoded(picked_log.upload().file("features.png"))  # with its card
    assert [b["action_id"] for b in picked.buttons()] == [
        f"albumgan:{a}" for a in ("reroll", "variations", "full", "delete")
    ]

    varied_log, varied = await click(fake_slack, grid, "variations", varies[1])
    assert len(values_of(varied, "pick")) == 4
    assert grid_seeds(varied_log.upload().file("cover.png")) == [seeds[1]] * 4

    rerolled_log, _ = await click(fake_slack, grid, "reroll", rerolls[0])
    assert set(tiles(rerolled_log.upload().file("cover.png"))).isdisjoint(tiles(grid_png))

    again = await fake_slack.send_command("/album", link)
    await again.wait_final()
    assert tiles(again.upload().file("cover.png")) == tiles(grid_png)  # the album's own first grid


async def test_a_team_may_choose_single_covers(fake_slack, start_slack, real_service):
    await start_slack(real_service)
    await real_service.set_setting(Requester("slack", "admin", guild_id=TEAM_ID), "layout", "single")
    log = await fake_slack.send_command("/random", "4")
    final = await log.wait_final()
    assert decoded(log.upload().file("cover.png")).size == (512, 512)
    assert [b["action_id"] for b in final.buttons()] == [
        f"albumgan:{a}" for a in ("reroll", "variations", "full", "delete")
    ]
