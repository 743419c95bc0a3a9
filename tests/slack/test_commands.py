"""Slash commands and buttons through the real slack-bolt app over Socket Mode, with the
stub service: acks, uploads, Block Kit, channel membership, rate limits, reconnects."""

from __future__ import annotations

import asyncio
import logging

import pytest

from albumgan.bot.slack_app import unwrap_links
from albumgan.bot.types import ServiceUnavailable, UserError
from fakes.slack import PUBLIC_CHANNEL, TEAM_ID
from tests.stub_service import StubService, decoded

pytestmark = pytest.mark.timeout(30)


async def test_slash_command_is_acked_then_a_png_upload_and_a_block_message(fake_slack, start_slack):
    service = StubService()
    await start_slack(service)
    log = await fake_slack.send_command("/random", "7", user_id="U0ALICE")
    ack = await log.wait_acked()
    assert "Working on" in ack["text"]
    result = await log.wait_final()

    upload = log.upload()
    assert upload.channel == PUBLIC_CHANNEL and "<@U0ALICE>" in upload.initial_comment
    assert decoded(upload.file("cover.png")).size == (32, 32)
    assert upload.at < result.at  # the cover first, then what it was made from
    assert "*Seed*\n7" in result.all_text and "stub v1" in result.all_text
    file_ids = ",".join(f["id"] for f in upload.files)
    assert [(b["action_id"], b["value"]) for b in result.buttons()] == [
        ("albumgan:reroll", "101"),
        ("albumgan:variations", "101"),
        ("albumgan:full", "101"),
        ("albumgan:delete", f"101|{file_ids}"),  # the answer's covers, then its files
    ]
    (call,) = service.calls
    assert call[0] == "random" and call[1] == 7
    assert call[2].platform == "slack" and call[2].user_id == "U0ALICE"
    assert (call[2].channel_id, call[2].guild_id) == (PUBLIC_CHANNEL, TEAM_ID)
    # files_upload_v2's three steps, then the message
    methods = [c.method for c in fake_slack.calls if c.method != "auth.test"]
    assert methods[-3:] == ["files.getUploadURLExternal", "files.completeUploadExternal", "chat.postMessage"]


async def test_cover_uploads_the_features_card_and_names_what_was_used(fake_slack, start_slack):
    await start_slack(StubService())
    log = await fake_slack.send_command("/cover", "<https://open.spotify.com/track/x|a song>")
    result = await log.wait_final()
    decoded(log.upload().file("features.png"))
    assert "cover title" in result.all_text and "energy" in result.all_text
    assert "popularity unknown" in result.all_text


async def test_buttons_reroll_and_make_variations(fake_slack, start_slack):
    service = StubService()
    await start_slack(service)
    first = await (await fake_slack.send_command("/random")).wait_final()
    for action, kind in (("albumgan:reroll", "reroll"), ("albumgan:variations", "variation")):
        click = await fake_slack.click(first, action, user_id="U0BOB")
        assert await click.wait_acked() == {}
        answer = await click.wait_final()
        assert answer.buttons() and decoded(click.upload().file("cover.png"))
        assert service.calls[-1][0] == kind and service.calls[-1][1] == 101
        assert service.calls[-1][2].user_id == "U0BOB"


async def test_a_button_this_version_does_not_know_gets_an_answer(fake_slack, start_slack):
    service = StubService()
    await start_slack(service)
    first = await (await fake_slack.send_command("/random")).wait_final()
    for action_id, value in (("albumgan:upscale", "101"), ("albumgan:reroll", "1; drop")):
        click = await fake_slack.click(first, action_id, value=value)
        answer = await click.wait_final()
        assert answer.ephemeral and "older version" in answer.text
    assert len(service.calls) == 1


async def test_a_queued_request_hears_its_position(fake_slack, start_slack):
    service = StubService()
    service.queue_position = 3
    await start_slack(service)
    log = await fake_slack.send_command("/random")
    await log.wait_final()
    assert [r.text for r in log.responses] == ["⏳ You're #3 in line; your cover is coming."]


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (UserError("That's a playlist link"), "That's a playlist link"),
        (ServiceUnavailable("Spotify isn't answering"), "Spotify isn't answering"),
        (RuntimeError("boom"), "Something broke on our side (incident "),
    ],
)
async def test_failures_become_private_messages(fake_slack, start_slack, caplog, error, expected):
    service = StubService()
    service.fail_with = error
    await start_slack(service)
    log = await fake_slack.send_command("/cover", "https://open.spotify.com/playlist/x")
    answer = await log.wait_final()
    assert answer.ephemeral and expected in answer.text and not log.uploads
    if isinstance(error, RuntimeError):
        incident = answer.text.split("incident ")[1][:6]
        assert any(incident in r.getMessage() and r.exc_info for r in caplog.records)


async def test_public_channel_the_bot_is_not_in_is_joined(fake_slack, start_slack):
    fake_slack.add_channel("C0NOTYET01", "general", bot_member=False)
    await start_slack(StubService())
    log = await fake_slack.send_command("/random", channel_id="C0NOTYET01")
    result = await log.wait_final()
    assert result.buttons() and log.upload().channel == "C0NOTYET01"
    assert [c.args["channel"] for c in fake_slack.calls_to("conversations.join")] == ["C0NOTYET01"]


async def test_private_channel_gets_how_to_invite_the_bot(fake_slack, start_slack):
    fake_slack.add_channel("C0SECRET01", "secret", private=True, bot_member=False)
    await start_slack(StubService())
    log = await fake_slack.send_command("/random", channel_id="C0SECRET01")
    answer = await log.wait_final()
    assert answer.ephemeral and "/invite <@U0ALBUMGAN>" in answer.text
    assert not log.uploads and len(fake_slack.calls_to("conversations.join")) == 1


async def test_no_joining_when_the_config_forbids_it(fake_slack, start_slack):
    fake_slack.add_channel("C0NOTYET02", "random", bot_member=False)
    await start_slack(StubService(), join_channels=False)
    answer = await (await fake_slack.send_command("/random", channel_id="C0NOTYET02")).wait_final()
    assert "/invite" in answer.text and not fake_slack.calls_to("conversations.join")


async def test_a_429_is_retried_after_its_retry_after(fake_slack, start_slack):
    await start_slack(StubService())
    fake_slack.rate_limit("chat.postMessage", retry_after=1)
    log = await fake_slack.send_command("/random")
    assert (await log.wait_final()).buttons()
    limited, retried = fake_slack.calls_to("chat.postMessage")
    assert retried.at - limited.at >= 1.0


async def test_a_429_longer_than_the_cap_is_reported_not_waited(fake_slack, start_slack):
    await start_slack(StubService(), max_retry_after_s=5)
    fake_slack.rate_limit("files.getUploadURLExternal", retry_after=3600)
    answer = await (await fake_slack.send_command("/random")).wait_final()
    assert answer.ephemeral and "slow down" in answer.text
    assert len(fake_slack.calls_to("files.getUploadURLExternal")) == 1


@pytest.mark.parametrize("how", ["close", "connection lost", "disconnect message"])
async def test_a_dropped_socket_reconnects_and_keeps_serving(fake_slack, start_slack, how):
    await start_slack(StubService(), ping_interval_s=0.5)
    opened = len(fake_slack.calls_to("apps.connections.open"))
    if how == "disconnect message":
        await fake_slack.send_disconnect()
    else:
        await fake_slack.drop_sockets(abrupt=how == "connection lost")
    await fake_slack.wait_connected(2)
    assert len(fake_slack.calls_to("apps.connections.open")) == opened + 1  # a fresh URL
    log = await fake_slack.send_command("/random", "5")
    assert (await log.wait_final()).buttons()


async def test_random_seed_that_is_not_a_number_is_answered_in_the_ack(fake_slack, start_slack):
    service = StubService()
    await start_slack(service)
    for text in ("-1", "7; rm -rf /", "x" * 5000, "1e9"):
        log = await fake_slack.send_command("/random", text)
        assert "seed must be a whole number" in (await log.wait_acked())["text"]
    assert not service.calls


async def test_drain_finishes_in_flight_covers_and_refuses_new_ones(fake_slack, start_slack):
    service = StubService()
    service.gate = asyncio.Event()
    frontend = await start_slack(service)
    in_flight = await fake_slack.send_command("/random")
    await service.entered.wait()
    draining = asyncio.create_task(frontend.drain(timeout=20))
    late = await fake_slack.send_command("/random")
    assert "restarting" in (await late.wait_acked())["text"]
    click = await fake_slack.click(_button_message(), "albumgan:reroll")
    assert "restarting" in (await click.wait_final()).text
    assert not draining.done() and not service.closed
    service.gate.set()
    await draining
    assert (in_flight.final is not None) and in_flight.final.buttons()
    # The frontend borrows the service: its owner (serve.serve) closes it, not the frontend.
    assert not service.closed and len(service.calls) == 1


def _button_message():
    """A message with the bot's buttons, as one posted before a restart."""
    from fakes.slack import Message

    blocks = [
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": "albumgan:reroll",
                    "value": "5",
                    "text": {"type": "plain_text", "text": "Reroll"},
                }
            ],
        }
    ]
    return Message("message", PUBLIC_CHANNEL, "", blocks, {}, ts="1.000001")


async def test_tokens_never_reach_the_logs(fake_slack, start_slack, caplog):
    caplog.set_level(logging.DEBUG)
    await start_slack(StubService())
    await (await fake_slack.send_command("/random")).wait_final()
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "apps.connections.open" in text or "Socket Mode" in text  # logging was on
    assert fake_slack.bot_token not in text and fake_slack.app_token not in text


def test_links_are_unwrapped_from_slack_markup():
    url = "https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC?si=a&amp;b=1"
    assert unwrap_links(f"<{url}|song>") == url.replace("&amp;", "&")
    assert unwrap_links("  <spotify:album:1A2GTWGtFfWp7KSQTwWOyo>  ") == "spotify:album:1A2GTWGtFfWp7KSQTwWOyo"
    assert unwrap_links("&lt;script&gt;") == "<script>"
