"""Forged or mangled button ids (issue #14): a generation id beyond what the history can
hold (SQLite integers stop at 2**63 - 1) is a button that is no longer valid, answered in a
friendly line on Discord and Slack, never an incident."""

from __future__ import annotations

import dataclasses

import pytest

from albumgan.bot.types import UserError
from tests.service_fixtures import make_config

pytestmark = pytest.mark.timeout(60)

NO_SUCH_ROW = [str(2**63), str(10**19 - 1), "0"]  # 19 digits fit the button schemes; no row can have them
STALE = "no longer valid"


@pytest.fixture
async def real_service(open_service, tmp_path, tiny_models, fake_spotify, fake_recco):
    return await open_service(make_config(tmp_path, tiny_models, spotify=fake_spotify, recco=fake_recco))


@pytest.mark.parametrize("number", NO_SUCH_ROW)
async def test_the_service_calls_an_impossible_generation_id_a_stale_button(real_service, alice, number):
    for command in (real_service.reroll, real_service.variation, real_service.remake):
        with pytest.raises(UserError, match=STALE):
            await command(int(number), alice)


@pytest.mark.parametrize("action", ["reroll", "variations"])
@pytest.mark.parametrize("number", NO_SUCH_ROW)
async def test_a_forged_discord_button_is_answered_as_no_longer_valid(
    fake_discord, start_bot, real_service, action, number
):
    await start_bot(real_service)
    first = await (await fake_discord.send_interaction(fake_discord.slash_command("random", {"seed": 3}))).wait_final()
    forged_id = f"albumgan:{action}:{number}"
    # A message carrying the forged button, as a tampering client would make Discord send.
    rows = [{"type": 1, "components": [{"type": 2, "style": 2, "label": "Reroll", "custom_id": forged_id}]}]
    forged = dataclasses.replace(first, payload={**first.payload, "components": rows})
    final = await (
        await fake_discord.send_interaction(fake_discord.button_click(forged_id, message=forged))
    ).wait_final()
    assert final.ephemeral and STALE in final.content, final.content
    assert "incident" not in final.content


@pytest.mark.parametrize("action", ["albumgan:reroll", "albumgan:variations"])
@pytest.mark.parametrize("number", NO_SUCH_ROW)
async def test_a_forged_slack_button_is_answered_as_no_longer_valid(
    fake_slack, start_slack, real_service, action, number
):
    await start_slack(real_service)
    first = await (await fake_slack.send_command("/random", "3")).wait_final()
    answer = await (await fake_slack.click(first, action, value=number)).wait_final()
    assert answer.ephemeral and STALE in answer.text, answer.text
    assert "incident" not in answer.text
