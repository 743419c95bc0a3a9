"""Fault tests drive the real frontends too: the Discord and Slack fixtures, shared."""

from tests.discord.conftest import fake_discord, start_bot
from tests.slack.conftest import fake_slack, start_slack

__all__ = ["fake_discord", "fake_slack", "start_bot", "start_slack"]
