"""HTTP mode with request signing, `albumgan serve --slack [--discord]`, shutdown, config."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import signal

import pytest

from albumgan.bot import cli
from albumgan.bot.config import BotConfig, ConfigError, Secrets, SlackCommands, SlackConfig, config_from_dict
from albumgan.bot.serve import serve
from albumgan.bot.slack_app import SlackFrontend
from fakes.discord import FakeDiscord
from tests.log_events import LogWatcher
from tests.stub_service import StubService

pytestmark = pytest.mark.timeout(30)


async def test_http_mode_serves_signed_requests_and_refuses_forged_ones(fake_slack, start_slack):
    service = StubService()
    frontend = await start_slack(service, mode="http")
    url = f"http://127.0.0.1:{frontend.http_port}/slack/events"
    status, _, log = await fake_slack.post_command(url, "/random", "9", user_id="U0HTTP")
    assert status == 200 and "Working on" in log.ack_text
    assert "*Seed*\n9" in (await log.wait_final()).all_text

    status, _, forged = await fake_slack.post_command(url, "/random", "9", secret="not-the-secret")
    assert status == 401 and forged.ack is None
    assert len(service.calls) == 1 and service.calls[0][2].user_id == "U0HTTP"
    assert fake_slack.connections == 0 and not fake_slack.calls_to("apps.connections.open")


class CountingService(StubService):
    def __init__(self) -> None:
        super().__init__()
        self.starts = self.closes = 0

    async def start(self) -> None:
        self.starts += 1

    async def close(self) -> None:
        self.closes += 1
        self.closed = True


async def test_serve_slack_drains_on_sigterm(fake_slack, request, caplog):
    caplog.set_level(logging.INFO, logger="albumgan.bot.serve")
    shutting_down = asyncio.Event()
    watcher = LogWatcher("shutting down", shutting_down)
    logging.getLogger("albumgan.bot.serve").addHandler(watcher)
    request.addfinalizer(lambda: logging.getLogger("albumgan.bot.serve").removeHandler(watcher))
    service = CountingService()
    service.gate = asyncio.Event()
    config = BotConfig(slack=SlackConfig(api_base=fake_slack.api_base))
    secrets = Secrets(slack_bot_token=fake_slack.bot_token, slack_app_token=fake_slack.app_token)
    running = asyncio.create_task(serve(config, service, discord=False, slack=True, secrets=secrets))
    await fake_slack.wait_connected()
    in_flight = await fake_slack.send_command("/random")
    await service.entered.wait()

    os.kill(os.getpid(), signal.SIGTERM)
    await shutting_down.wait()
    late = await fake_slack.send_command("/random")
    assert "restarting" in (await late.wait_acked())["text"]
    assert not running.done() and not service.closed
    service.gate.set()
    await asyncio.wait_for(running, 20)
    assert in_flight.final is not None and in_flight.final.buttons()
    assert (service.starts, service.closes) == (1, 1)


async def test_one_process_serves_discord_and_slack_on_one_service(fake_slack):
    service = CountingService()
    config = BotConfig(slack=SlackConfig(api_base=fake_slack.api_base))
    async with FakeDiscord() as fake_discord:
        with fake_discord.patched():
            secrets = Secrets(
                discord_token=fake_discord.token,
                slack_bot_token=fake_slack.bot_token,
                slack_app_token=fake_slack.app_token,
            )
            running = asyncio.create_task(serve(config, service, discord=True, slack=True, secrets=secrets))
            await fake_slack.wait_connected()
            await fake_discord.wait_identified()
            from_slack = await (await fake_slack.send_command("/random", "1")).wait_final()
            discord_log = await fake_discord.send_interaction(fake_discord.slash_command("random", {"seed": 2}))
            from_discord = await discord_log.wait_final()
            os.kill(os.getpid(), signal.SIGTERM)
            await asyncio.wait_for(running, 20)
    assert from_slack.buttons() and from_discord.file("cover.png")
    assert [c[2].platform for c in service.calls] == ["slack", "discord"]
    assert (service.starts, service.closes) == (1, 1)


async def test_serve_names_the_missing_slack_secrets():
    with pytest.raises(SystemExit, match="SLACK_BOT_TOKEN and SLACK_APP_TOKEN not set"):
        await serve(BotConfig(), StubService(), discord=False, slack=True, secrets=Secrets())
    http = BotConfig(slack=SlackConfig(mode="http"))
    with pytest.raises(SystemExit, match="^SLACK_SIGNING_SECRET not set"):
        await serve(http, StubService(), discord=False, slack=True, secrets=Secrets(slack_bot_token="xoxb-1"))


def test_cli_serve_slack_without_tokens_says_what_to_set(capsys, tmp_path):
    config = tmp_path / "bot.toml"
    config.write_text("")
    assert cli.main(["--config", str(config), "serve", "--slack"]) == 2
    assert "SLACK_BOT_TOKEN and SLACK_APP_TOKEN not set" in capsys.readouterr().err
    config.write_text('[slack]\nenabled = true\nmode = "http"\n')  # serve alone: as configured
    assert cli.main(["--config", str(config), "serve"]) == 2
    assert "SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET not set" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("slack", "message"),
    [
        ({"mode": "websocket"}, 'slack.mode must be "socket" or "http"'),
        ({"commands": {"cover": "/cover"}}, "no slash"),
        ({"http_port": 70000}, "slack.http_port"),
        ({"tokn": "x"}, "unknown key 'tokn' in [slack]"),
        ({"max_retry_after_s": "10"}, "slack.max_retry_after_s must be a number"),
    ],
)
def test_bad_slack_settings_are_rejected_naming_the_key(slack, message):
    with pytest.raises(ConfigError, match=None) as error:
        config_from_dict({"slack": slack})
    assert message in str(error.value)


async def test_slack_command_names_come_from_the_config(fake_slack, start_slack):
    config = config_from_dict({"slack": {"commands": {"random": "randomcover"}}})
    names = dataclasses.asdict(config.slack.commands)
    assert names == {**dataclasses.asdict(SlackCommands()), "random": "randomcover"}
    service = StubService()
    await start_slack(service, commands=config.slack.commands)
    assert (await (await fake_slack.send_command("/randomcover")).wait_final()).buttons()
    assert service.calls[0][0] == "random"


@pytest.mark.parametrize("which", ["bot", "app"])
async def test_a_rejected_token_stops_the_start_with_a_clear_message(fake_slack, which):
    service = StubService()
    tokens = {
        "bot_token": fake_slack.bot_token,
        "app_token": fake_slack.app_token,
        f"{which}_token": f"x{which[0]}-revoked-0000",
    }
    frontend = SlackFrontend(service, SlackConfig(api_base=fake_slack.api_base), **tokens)
    with pytest.raises(SystemExit) as stopped:
        await frontend.start()
    await frontend.close()
    assert str(stopped.value) == f"Slack rejected SLACK_{which.upper()}_TOKEN (invalid_auth)"
    assert not service.started and fake_slack.connections == 0
