"""/history and /show through fake Slack, the real slack-bolt app and the real service."""

from __future__ import annotations

import pytest

from albumgan.bot.types import Requester
from fakes.slack import TEAM_ID
from tests.discord.test_end_to_end import track_link

pytestmark = pytest.mark.timeout(60)


async def test_history_pages_privately_and_show_remakes_byte_identical_pngs(
    fake_slack, start_slack, real_service, catalog
):
    await start_slack(real_service)
    admin = Requester("slack", "admin", guild_id=TEAM_ID)
    await real_service.set_setting(admin, "layout", "single")
    made = await fake_slack.send_command("/cover", track_link(catalog, 6), user_id="U0ALICE")
    single = await made.wait_final()
    single_id = int(single.buttons()[0]["value"])
    await real_service.set_setting(admin, "layout", "grid")
    for seed in (1, 2, 3):  # three grids: twelve more covers
        await (await fake_slack.send_command("/random", str(seed), user_id="U0ALICE")).wait_final()

    first = await (await fake_slack.send_command("/history", user_id="U0ALICE")).wait_final()
    assert first.ephemeral and first.text.startswith("Your covers, page 1") and first.text.count("\n#") == 10
    assert [b["value"] for b in first.buttons()] == ["1"]  # Older
    click = await fake_slack.click(first, "albumgan:history", user_id="U0ALICE")
    await click.wait_for(lambda log: bool(log.responses))
    (second,) = click.responses
    assert second.payload["replace_original"] is True and second.ephemeral
    assert f"#{single_id} · track" in second.text and second.text.count("\n#") == 3
    assert [b["value"] for b in second.buttons()] == ["0"]  # Newer

    bad = await (await fake_slack.send_command("/history", "zero", user_id="U0ALICE")).wait_acked()
    assert "page number" in bad["text"]

    shown = await fake_slack.send_command("/show", f"#{single_id}", user_id="U0BOB")  # made in this team
    await shown.wait_final()
    assert shown.upload().file("cover.png") == made.upload().file("cover.png")  # byte for byte
    assert shown.upload().file("features.png") == made.upload().file("features.png")
    unknown = await (await fake_slack.send_command("/show", "999999", user_id="U0ALICE")).wait_final()
    assert unknown.ephemeral and "no cover #999999" in unknown.text
    other_team = await real_service.random(Requester("slack", "U0EVE", guild_id="T0OTHER"), seed=1)
    refused = await (await fake_slack.send_command("/show", str(other_team.generation_id))).wait_final()
    assert refused.ephemeral and "isn't yours" in refused.text
