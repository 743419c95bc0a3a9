"""Full size, Delete (only the requester or a workspace admin), private answers, /help and
/settings through fake Slack, the real slack-bolt app and the real service."""

from __future__ import annotations

import pytest

from albumgan.bot.config import SlackCommands
from albumgan.bot.grids import FULL_SIZE
from albumgan.bot.help import COMMANDS
from albumgan.bot.imaging import read_png_text
from albumgan.bot.types import Requester
from fakes.slack import TEAM_ID
from tests.discord.test_end_to_end import track_link
from tests.stub_service import decoded

pytestmark = pytest.mark.timeout(90)


def value(message, action: str) -> str:
    return next(b["value"] for b in message.buttons() if b["action_id"] == f"albumgan:{action}")


async def test_full_size_sends_the_cover_at_3000_px_with_its_parameters(fake_slack, start_slack, real_service, catalog):
    await start_slack(real_service)
    await real_service.set_setting(Requester("slack", "x", guild_id=TEAM_ID), "layout", "single")
    made = await fake_slack.send_command("/cover", track_link(catalog, 2))
    cover = await made.wait_final()
    click = await fake_slack.click(cover, "albumgan:full")
    await click.wait_for(lambda log: bool(log.uploads and log.messages))
    data = click.upload().file(f"cover-{FULL_SIZE}.png")
    assert decoded(data).size == (FULL_SIZE, FULL_SIZE)
    (message,) = click.messages
    assert "Enlarged from the model's 16 px" in message.all_text and not message.buttons()
    text = read_png_text(data)
    assert text["cover_id"] == value(cover, "full") and text["enlarged"] == f"16 px to {FULL_SIZE} px"


async def test_only_the_requester_or_a_workspace_admin_can_delete(fake_slack, start_slack, real_service):
    await start_slack(real_service)
    made = await fake_slack.send_command("/random", "8", user_id="U0ALICE")
    grid = await made.wait_final()
    ids, files = value(grid, "delete").split("|")
    assert len(ids.split(",")) == 4 and files.split(",") == [f["id"] for f in made.upload().files]

    refused = await fake_slack.click(grid, "albumgan:delete", user_id="U0BOB")
    answer = await refused.wait_final()
    assert answer.ephemeral and "Only the person who asked" in answer.text and not fake_slack.deleted

    await fake_slack.click(grid, "albumgan:delete", user_id="U0ALICE")
    await fake_slack.wait_until(lambda: any(d["method"] == "chat.delete" for d in fake_slack.deleted))
    assert {d.get("file") for d in fake_slack.deleted if d["method"] == "files.delete"} == set(files.split(","))
    assert [await real_service.db.get_generation(int(i)) for i in ids.split(",")] == [None] * 4

    second = await (await fake_slack.send_command("/random", "9", user_id="U0CAROL")).wait_final()
    fake_slack.admins.add("U0ADMIN")
    await fake_slack.click(second, "albumgan:delete", user_id="U0ADMIN")
    await fake_slack.wait_until(lambda: sum(d["method"] == "chat.delete" for d in fake_slack.deleted) == 2)
    assert await real_service.db.get_generation(int(value(second, "pick"))) is None


async def test_private_answers_show_their_pictures_only_to_the_requester(
    fake_slack, start_slack, real_service, catalog
):
    await start_slack(real_service)
    log = await fake_slack.send_command("/cover", f"{track_link(catalog)} private")
    grid = await log.wait_final()
    assert grid.ephemeral and not log.uploads  # shared in no channel
    grid_png, card_png = (fake_slack.file(file_id) for file_id in grid.file_ids())
    assert decoded(grid_png).size == (520, 520) and decoded(card_png).width == 800
    click = await fake_slack.click(grid, "albumgan:pick")
    picked = await click.wait_final()
    assert picked.ephemeral and len(picked.file_ids()) == 2  # a private answer's buttons answer privately
    await fake_slack.click(picked, "albumgan:delete")
    await fake_slack.wait_until(lambda: any(d["method"] == "delete_original" for d in fake_slack.deleted))


async def test_help_and_settings(fake_slack, start_slack, real_service):
    await start_slack(real_service, commands=SlackCommands(cover="albumcover"))
    help_text = (await (await fake_slack.send_command("/help")).wait_acked())["text"]
    assert "*/albumcover https://open.spotify.com/track/" in help_text
    assert all(entry.description in help_text for entry in COMMANDS.values())

    shown = await (await fake_slack.send_command("/settings")).wait_final()
    assert shown.ephemeral and "layout: grid" in shown.text
    refused = await (await fake_slack.send_command("/settings", "layout single", user_id="U0BOB")).wait_final()
    assert "Only server admins" in refused.text
    fake_slack.admins.add("U0ADMIN")
    saved = await (
        await fake_slack.send_command("/settings", "layout single private on", user_id="U0ADMIN")
    ).wait_final()
    assert "Settings saved" in saved.text and "private: on" in saved.text

    log = await fake_slack.send_command("/random", "3", user_id="U0DAN")
    private = await log.wait_final()
    assert private.ephemeral and not log.uploads and len(private.file_ids()) == 1  # single, private
    public = await fake_slack.send_command("/random", "3 public", user_id="U0DAN")
    await public.wait_final()
    assert decoded(public.upload().file("cover.png")).size == (512, 512)
