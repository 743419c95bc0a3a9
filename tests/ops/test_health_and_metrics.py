"""/healthz and /metrics through a real HTTP client against `serve` as it runs: the real
service (tiny models, SQLite), the real discord.py and slack-bolt clients against the loopback
fakes, and the counters moving as the fakes send commands."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import shutil
import signal

import aiohttp
import pytest

from albumgan.bot.config import DiscordConfig, MetricsConfig, Secrets, SlackConfig
from albumgan.bot.discord_app import make_bot
from albumgan.bot.ops_server import OpsServer
from albumgan.bot.serve import serve
from albumgan.bot.service import CoverService
from fakes.discord import FakeDiscord
from fakes.slack import FakeSlack
from tests.ops.conftest import sample, scrape, wait_healthy
from tests.service_fixtures import SPOTIFY_SECRETS, make_config

pytestmark = pytest.mark.timeout(90)

ARTIST_LINK = "https://open.spotify.com/artist/37i9dQZF1DXcBWIGoYBM5M"


async def test_healthz_and_metrics_follow_the_commands_of_discord_and_slack(
    tmp_path, tiny_models, fake_spotify, fake_recco, ops_address
):
    config = make_config(tmp_path, tiny_models, spotify=fake_spotify, recco=fake_recco)
    config = dataclasses.replace(
        config,
        limits=dataclasses.replace(config.limits, cooldown_s=3600.0),  # a second request is refused
        metrics=MetricsConfig(bind="127.0.0.1:0"),
    )
    service = CoverService.from_config(config, secrets=SPOTIFY_SECRETS)
    async with FakeDiscord() as discord, FakeSlack() as slack, aiohttp.ClientSession() as http:
        config = dataclasses.replace(config, slack=SlackConfig(api_base=slack.api_base))
        secrets = Secrets(discord_token=discord.token, slack_bot_token=slack.bot_token, slack_app_token=slack.app_token)
        with discord.patched():
            running = asyncio.create_task(serve(config, service, discord=True, slack=True, secrets=secrets))
            host, port = await ops_address
            base = f"http://{host}:{port}"
            health = await wait_healthy(http, base)

            served = await discord.send_interaction(discord.slash_command("random", user_id="1001"))
            assert (await served.wait_final()).files
            mistaken = await discord.send_interaction(
                discord.slash_command("cover", {"link": ARTIST_LINK}, user_id="1001")
            )
            assert "artist" in (await mistaken.wait_final()).content
            too_soon = await discord.send_interaction(discord.slash_command("random", user_id="1001"))
            assert "ask again" in (await too_soon.wait_final()).content
            from_slack = await slack.send_command("/random", "5", user_id="U0OPS")
            assert (await from_slack.wait_final()).buttons()
            samples = await scrape(http, base)

            os.kill(os.getpid(), signal.SIGTERM)
            await asyncio.wait_for(running, 30)

    assert health["healthy"] and health["problems"] == []
    assert set(health["models"]) == {"acgan", "unconditional"}
    assert health["database"] == {"writable": True}
    assert health["frontends"] == {"discord": True, "slack": True}

    covers = "albumgan_covers_total"
    assert sample(samples, covers, command="random", outcome="ok") == 2  # one from each platform
    assert sample(samples, covers, command="cover", outcome="user_error") == 1
    assert sample(samples, covers, command="random", outcome="refused") == 1
    assert sample(samples, covers, command="album", outcome="ok") == 0  # every series is there from the start
    assert sample(samples, "albumgan_refusals_total", reason="cooldown") == 1
    assert sample(samples, "albumgan_refusals_total", reason="queue_full") == 0
    assert sample(samples, "albumgan_upload_seconds_count", platform="discord") == 1
    assert sample(samples, "albumgan_upload_seconds_count", platform="slack") == 1
    assert sample(samples, "albumgan_generation_seconds_count", model="unconditional") == 2
    assert sample(samples, "albumgan_queue_wait_seconds_count", command="random") == 2
    assert sample(samples, "albumgan_request_seconds_count", command="random") == 2
    assert sample(samples, "albumgan_queue_depth", state="admitted") == 0
    for kind, model in health["models"].items():
        labels = {"kind": kind, "name": model["name"], "version": model["version"]}
        assert any(
            name == "albumgan_model_info" and labels.items() <= dict(found).items() for name, found in samples
        ), labels


async def test_healthz_says_503_and_what_is_wrong(tmp_path, tiny_models, open_service, ops_address):
    service = await open_service(make_config(tmp_path, tiny_models))
    never_started = make_bot(service, DiscordConfig())
    frontends = {"discord": never_started.connected}
    async with aiohttp.ClientSession() as http, OpsServer(("127.0.0.1", 0), service, frontends) as ops:
        base = f"http://127.0.0.1:{ops.port}"
        async with http.get(f"{base}/healthz") as answer:
            assert answer.status == 503
            report = await answer.json()
        assert report["problems"] == ["discord is not connected"] and report["frontends"] == {"discord": False}

        frontends.clear()
        assert service.db is not None
        await service.db._conn.execute("PRAGMA query_only = ON")  # as a read-only file or a full disk would
        async with http.get(f"{base}/healthz") as answer:
            assert answer.status == 503
            assert (await answer.json())["problems"] == ["the database cannot be written"]
        await service.db._conn.execute("PRAGMA query_only = OFF")
        assert (await wait_healthy(http, base, timeout=5))["database"] == {"writable": True}
    await never_started.close()


async def test_provider_errors_and_model_reloads_are_counted(tmp_path, tiny_models, fake_spotify, alice, catalog):
    live = {kind: tmp_path / f"{kind}.onnx" for kind in ("unconditional", "acgan")}
    for kind, path in live.items():
        shutil.copyfile(tiny_models[kind], path)
    config = make_config(tmp_path, live, spotify=fake_spotify)  # ReccoBeats at a closed port
    async with CoverService.from_config(config, secrets=SPOTIFY_SECRETS) as service:
        registry = service.observer.metrics.registry
        track = next(iter(catalog.tracks))
        await service.cover(f"spotify:track:{track}", alice)
        assert registry.get_sample_value("albumgan_provider_errors_total", {"provider": "reccobeats"}) >= 1
        assert registry.get_sample_value("albumgan_provider_errors_total", {"provider": "local"}) == 0

        shutil.copyfile(tiny_models["acgan-v2"], live["acgan"])
        live["unconditional"].write_bytes(b"not a model")
        await service.models.reload()
        counted = "albumgan_model_reloads_total"
        reloads = {
            (kind, outcome): registry.get_sample_value(counted, {"kind": kind, "outcome": outcome})
            for kind in live
            for outcome in ("swapped", "refused")
        }
        assert reloads == {
            ("acgan", "swapped"): 1,
            ("acgan", "refused"): 0,
            ("unconditional", "swapped"): 0,
            ("unconditional", "refused"): 1,
        }
        version = service.models.runners["acgan"].info.version
        assert registry.get_sample_value("albumgan_model_info", {"kind": "acgan", **_names(service, "acgan")}) == 1
        assert _names(service, "acgan")["version"] == version


def _names(service: CoverService, kind: str) -> dict[str, str]:
    info = service.models.runners[kind].info
    return {"name": info.name, "version": info.version, "sha256": info.sha256[:12]}
