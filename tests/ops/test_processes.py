"""More than one process, as operators run them: two `albumgan serve --discord` programs, each
with its own shard of two, its own database and its own /metrics, against one loopback
Discord that routes each guild to its shard; their logs are JSON lines that carry no secret."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest

from albumgan.logsafe import REDACTED
from fakes.discord import FakeDiscord, shard_of
from tests.faults.programs import bot_toml
from tests.faults.test_secrets_in_logs import ENV
from tests.ops.conftest import sample, scrape, wait_healthy
from tests.service_fixtures import REPO

pytestmark = pytest.mark.timeout(180)

# `albumgan` itself, pointed at the test's loopback Discord (discord.py has no setting for
# its API base and gateway: FakeDiscord.patched() swaps the same two attributes in-process).
RUNNER = """
import os, sys, discord.gateway, discord.http, yarl
discord.http.Route.BASE = os.environ["FAKE_DISCORD_API"]
discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(os.environ["FAKE_DISCORD_GATEWAY"])
from albumgan.bot.cli import main
sys.exit(main(sys.argv[1:]))
"""
LISTENING = re.compile(r"health and metrics on http://([\d.]+):(\d+)")


class Program:
    """A running `albumgan` whose stderr lines are collected as they come."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[str] = []
        self._changed = asyncio.Condition()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def start(cls, *args: str | Path, env: dict[str, str]) -> Program:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", RUNNER, *map(str, args), cwd=REPO, env=env, stderr=asyncio.subprocess.PIPE
        )
        return cls(proc)

    async def _read(self) -> None:
        assert self.proc.stderr is not None
        async for raw in self.proc.stderr:
            async with self._changed:
                self.lines.append(raw.decode().rstrip("\n"))
                self._changed.notify_all()
        async with self._changed:
            self._changed.notify_all()

    async def wait_line(self, matches: Callable[[str], object], timeout: float = 90.0) -> str:
        """The first line that `matches`; fails with the output if the program ends first."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: self._reader.done() or any(map(matches, self.lines)))
        found = next(filter(matches, self.lines), None)
        assert found is not None, "the program ended:\n" + "\n".join(self.lines[-30:])
        return found

    async def stop(self) -> int:
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(self.proc.wait(), 60)
        await self._reader
        return code


def events(program: Program, event: str) -> list[dict]:
    """The program's log entries of `event`; every line of its output must be one JSON object."""
    return [entry for entry in map(json.loads, program.lines) if entry.get("event") == event]


async def test_two_shard_processes_serve_only_their_guilds_and_log_json_without_secrets(tmp_path, tiny_models):
    config = bot_toml(tmp_path, tiny_models)
    programs: list[Program] = []
    async with FakeDiscord(token=ENV["DISCORD_TOKEN"], shards=2) as fake, aiohttp.ClientSession() as http:
        guilds = [fake.guild_on_shard(shard, 2) for shard in (0, 1)]
        env = {
            **os.environ,
            **ENV,
            "FAKE_DISCORD_API": fake.api_base,
            "FAKE_DISCORD_GATEWAY": fake.gateway_url,
        }
        try:
            for shard in (0, 1):
                programs.append(
                    await Program.start(
                        *("-v", "--config", config, "serve", "--discord", "--log-format", "json"),
                        *("--shards", str(shard), "--shard-count", "2"),
                        *("--database", tmp_path / f"shard{shard}.sqlite3", "--metrics", "127.0.0.1:0"),
                        env=env,
                    )
                )
            bases = []
            for program in programs:
                host, port = LISTENING.search(await program.wait_line(LISTENING.search)).groups()  # type: ignore[union-attr]
                bases.append(f"http://{host}:{port}")
                assert (await wait_healthy(http, bases[-1]))["frontends"] == {"discord": True}
            asked = [await fake.send_interaction(fake.slash_command("random", guild_id=guild)) for guild in guilds]
            for interaction in asked:
                assert (await interaction.wait_final()).files
            for program in programs:
                await program.wait_line(lambda line: '"event": "cover"' in line)
            scrapes = [await scrape(http, base) for base in bases]
        finally:
            codes = [await program.stop() for program in programs]

    assert codes == [0, 0], "\n".join(programs[0].lines[-20:] + programs[1].lines[-20:])
    assert sorted(tuple(identify["shard"]) for identify in fake.identifies) == [(0, 2), (1, 2)]
    for shard, (program, guild, interaction, samples) in enumerate(zip(programs, guilds, asked, scrapes, strict=True)):
        assert shard_of(guild, 2) == shard
        served = events(program, "cover")
        assert [(e["guild_id"], e["outcome"], e["command"]) for e in served] == [(guild, "ok", "random")]
        assert set(served[0]) >= {"ts", "level", "logger", "message", "cover_id", "user", "latency_ms", "model"}
        user_id = interaction.payload["member"]["user"]["id"]
        assert user_id not in json.dumps(served[0]) and len(served[0]["user"]) == 12  # hashed
        assert sample(samples, "albumgan_covers_total", command="random", outcome="ok") == 1
        with sqlite3.connect(tmp_path / f"shard{shard}.sqlite3") as db:
            assert {row[0] for row in db.execute("SELECT guild_id FROM generations")} == {guild}

    output = "\n".join(programs[0].lines + programs[1].lines)
    interaction_tokens = list(fake.interactions)
    for secret in [*ENV.values(), *interaction_tokens]:
        assert secret not in output, f"a secret ({secret[:6]}...) is in the output"
    assert REDACTED in output  # the interaction tokens in discord.py's debug lines were there, and redacted
