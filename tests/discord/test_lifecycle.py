"""Shutdown, sharding and command sync: the bot's life around the commands."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import signal

import pytest

from albumgan.bot.config import BotConfig, DiscordCommands
from albumgan.bot.serve import serve
from tests.log_events import LogWatcher
from tests.stub_service import StubService


async def test_drain_finishes_in_flight_covers_and_refuses_new_ones(fake_discord, start_bot):
    service = StubService()
    service.gate = asyncio.Event()
    bot = await start_bot(service)
    in_flight = await fake_discord.send_interaction(fake_discord.slash_command("random"))
    await service.entered.wait()

    draining = asyncio.create_task(bot.drain(timeout=20))
    late = await fake_discord.send_interaction(fake_discord.slash_command("random"))
    refused = await late.wait_final()
    assert refused.ephemeral and "restarting" in refused.content
    assert not draining.done() and not service.closed

    service.gate.set()
    await draining
    finished = in_flight.final
    assert finished is not None and finished.file("cover.png")
    # The frontend borrows the service: its owner (serve.serve) closes it, not the bot.
    assert not service.closed and len(service.calls) == 1


async def test_sharded_bot_identifies_every_shard_and_serves_each(fake_discord, start_bot):
    fake_discord.shards = 2
    service = StubService()
    await start_bot(service, sharded=True, shards=2)
    assert sorted(tuple(i["shard"]) for i in fake_discord.identifies) == [(0, 2), (1, 2)]
    assert ("GET", "/gateway/bot") in fake_discord.rest_calls
    shards_used = set()
    for guild_id in (14 << 22, 15 << 22):  # Discord routes by (guild_id >> 22) % shards
        fake_discord.guild_id = str(guild_id)
        log = await fake_discord.send_interaction(fake_discord.slash_command("random"))
        assert (await log.wait_final()).file("cover.png")
        shards_used.add(log.shard_id)
    assert shards_used == {0, 1}
    assert {call[2].guild_id for call in service.calls} == {str(14 << 22), str(15 << 22)}


async def test_commands_sync_to_configured_guilds_under_configured_names(fake_discord, start_bot):
    service = StubService()
    names = DiscordCommands(cover="albumcover", random="randomcover")
    await start_bot(service, guild_ids=[111, 222], commands=names)
    assert set(fake_discord.commands) == {"111", "222"}
    synced = {c["name"] for c in fake_discord.commands["222"]}
    assert synced == set(dataclasses.asdict(names).values()) and {"albumcover", "randomcover"} <= synced
    log = await fake_discord.send_interaction(fake_discord.slash_command("randomcover"))
    assert (await log.wait_final()).file("cover.png")
    assert service.calls[0][0] == "random"


async def test_serve_discord_stops_gracefully_on_sigterm_without_logging_the_token(
    fake_discord, monkeypatch, caplog, request
):
    monkeypatch.setenv("DISCORD_TOKEN", fake_discord.token)
    service = StubService()
    service.gate = asyncio.Event()
    caplog.set_level(logging.DEBUG)
    shutting_down = asyncio.Event()
    watcher = LogWatcher("shutting down", shutting_down)
    logging.getLogger("albumgan.bot.serve").addHandler(watcher)
    request.addfinalizer(lambda: logging.getLogger("albumgan.bot.serve").removeHandler(watcher))
    running = asyncio.create_task(serve(BotConfig(), service, discord=True, slack=False))
    await fake_discord.wait_identified()
    in_flight = await fake_discord.send_interaction(fake_discord.slash_command("random"))
    await service.entered.wait()

    os.kill(os.getpid(), signal.SIGTERM)
    await shutting_down.wait()
    late = await fake_discord.send_interaction(fake_discord.slash_command("random"))
    assert "restarting" in (await late.wait_final()).content  # draining, not yet closed
    assert not running.done() and not service.closed
    service.gate.set()
    await asyncio.wait_for(running, 20)

    assert in_flight.final is not None and in_flight.final.file("cover.png")
    assert service.started and service.closed
    assert fake_discord.identifies[0]["token"] == fake_discord.token
    assert all(fake_discord.token not in record.getMessage() for record in caplog.records)


async def test_serve_discord_without_token_says_what_to_set():
    service = StubService()
    with pytest.raises(SystemExit, match="DISCORD_TOKEN"):
        await serve(BotConfig(), service, discord=True, slack=False)
    assert not service.started  # refused before anything was opened
