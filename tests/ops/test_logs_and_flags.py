"""Request log lines from the one service path, JSON lines that stay redacted, the per-process
flags of `albumgan serve` and `albumgan health`."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import json
import logging

import pytest

from albumgan.bot import cli
from albumgan.bot.config import ConfigError, config_from_dict, load_config, metrics_address
from albumgan.bot.ops_server import OpsServer
from albumgan.bot.types import UserError
from albumgan.logsafe import REDACTED, JsonLines, RedactSecrets
from tests.faults.test_secrets_in_logs import ENV
from tests.service_fixtures import REPO, make_config


async def test_each_request_is_one_log_line_with_its_outcome(tmp_path, tiny_models, open_service, alice, caplog):
    config = make_config(tmp_path, tiny_models)
    service = await open_service(dataclasses.replace(config, limits=dataclasses.replace(config.limits, cooldown_s=60)))
    caplog.set_level(logging.INFO, logger="albumgan.requests")
    result = await service.random(alice, seed=3)
    for ask in (lambda: service.cover("https://open.spotify.com/artist/37i9dQZF1DXcBWIGoYBM5M", alice),
                lambda: service.random(alice)):  # fmt: skip
        with pytest.raises(UserError):
            await ask()
    served, mistaken, too_soon = (vars(record) for record in caplog.records if record.name == "albumgan.requests")
    assert served["event"] == "cover" and served["outcome"] == "ok" and served["command"] == "random"
    assert served["cover_id"] == result.generation_id and served["model"] == result.model_name
    assert served["guild_id"] == alice.guild_id and served["platform"] == "cli"
    assert served["generation_ms"] >= 0 and served["latency_ms"] >= served["generation_ms"]
    assert served["lookup_ms"] is None  # /random looks nothing up
    assert mistaken["event"] == "user_error" and mistaken["kind"] == "input" and "artist" in mistaken["error"]
    assert too_soon["event"] == "user_error" and (too_soon["kind"], too_soon["outcome"]) == ("cooldown", "refused")
    assert {served["user"], mistaken["user"], too_soon["user"]} == {service.observer.user_hash(alice)}
    assert alice.user_id not in {served["user"], mistaken["user"]}


def test_json_lines_are_redacted_fields_and_all(monkeypatch):
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(RedactSecrets())
    handler.setFormatter(JsonLines())
    logger = logging.getLogger("albumgan.test.json")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        logger.info("token %s", ENV["DISCORD_TOKEN"], extra={"event": "x", "error": f"Bearer {ENV['SLACK_BOT_TOKEN']}"})
        logger.info("nested", extra={"headers": {"Authorization": f"Basic {ENV['SPOTIPY_CLIENT_SECRET']}"}, "n": 2})
        try:
            raise RuntimeError(ENV["SLACK_APP_TOKEN"])
        except RuntimeError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    text = out.getvalue()
    first, nested, failed = (json.loads(line) for line in text.splitlines())
    assert first["message"] == f"token {REDACTED}" and first["event"] == "x" and REDACTED in first["error"]
    assert nested["n"] == 2 and REDACTED in nested["headers"]["Authorization"]
    assert failed["level"] == "ERROR" and "RuntimeError" in failed["exc"] and first["ts"].endswith("Z")
    assert all(secret not in text for secret in ENV.values())


@pytest.mark.parametrize(
    ("flags", "says"),
    [
        (["--shards", "0-8", "--shard-count", "8"], "shard id 8 is outside 0..7 (shard count 8)"),
        (["--shards", "2", "--shard-count", "2"], "shard id 2 is outside 0..1"),
        (["--shards", "1"], "shard ids need the shard count"),
        (["--shards", "0,0", "--shard-count", "2"], "shard id 0 is listed twice"),
        (["--shards", "3-1", "--shard-count", "4"], "not shard ids"),
        (["--shard-count", "-1"], "the shard count must be 0"),
        (["--metrics", "http://x:9464"], "is not HOST:PORT"),
    ],
)
def test_bad_serve_flags_are_one_line(flags, says, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("DISCORD_TOKEN", "x" * 20)
    (tmp_path / "bot.toml").write_text("")
    assert cli.main(["--config", str(tmp_path / "bot.toml"), "serve", "--discord", *flags]) == 2
    err = capsys.readouterr().err
    assert says in err and len(err.strip().splitlines()) == 1, err


def test_shard_flags_and_database_override_the_file(tmp_path, monkeypatch):
    (tmp_path / "bot.toml").write_text("[discord]\nshard_count = 4\n[database]\npath = 'shared.sqlite3'\n")
    monkeypatch.chdir(tmp_path)
    args = cli._parser().parse_args(["serve", "--discord", "--shards", "0-1,3", "--database", "d/shard.sqlite3"])
    config = cli._with_process_flags(args, load_config(None))
    assert (config.discord.shard_ids, config.discord.shard_count) == ([0, 1, 3], 4)
    assert config.path(config.database.path) == tmp_path / "d" / "shard.sqlite3"


@pytest.mark.parametrize(
    ("table", "says"),
    [
        ({"metrics": {"bind": "localhost"}}, "metrics.bind: 'localhost' is not HOST:PORT"),
        ({"metrics": {"bind": "127.0.0.1:99999"}}, "metrics.bind"),
        ({"logging": {"format": "yaml"}}, "logging.format must be 'text' or 'json'"),
        ({"discord": {"shard_ids": [0, 4], "shard_count": 4}}, "discord: shard id 4 is outside 0..3"),
    ],
)
def test_bad_ops_settings_are_one_line(table, says):
    with pytest.raises(ConfigError) as error:
        config_from_dict(table)
    assert says in str(error.value) and "\n" not in str(error.value)


def test_metrics_on_a_bare_port_stay_on_the_loopback():
    assert metrics_address("9464") == ("127.0.0.1", 9464)
    assert metrics_address("") is None and metrics_address("[::1]:9464") == ("::1", 9464)


async def test_albumgan_health_asks_the_running_bot(tmp_path, tiny_models, open_service, capsys):
    service = await open_service(make_config(tmp_path, tiny_models))
    config = tmp_path / "bot.toml"
    config.write_text("")
    assert await asyncio.to_thread(cli.main, ["--config", str(config), "health"]) == 0  # no [metrics]: nothing to ask
    async with OpsServer(("127.0.0.1", 0), service, {}) as ops:
        argv = ["--config", str(config), "health", "--metrics", f"127.0.0.1:{ops.port}"]
        assert await asyncio.to_thread(cli.main, argv) == 0
        assert json.loads(capsys.readouterr().out.splitlines()[-1])["healthy"] is True
    assert await asyncio.to_thread(cli.main, argv) == 1  # nobody answers now
    assert "Connection refused" in capsys.readouterr().out


def test_container_files_agree_on_health_and_metrics():
    assert metrics_address(load_config(REPO / "deploy" / "bot.toml").metrics.bind) == ("127.0.0.1", 9464)
    assert 'CMD ["albumgan", "health"]' in (REPO / "Dockerfile").read_text()
    assert '"--metrics", "0.0.0.0:9464"' in (REPO / "compose.yaml").read_text()
    assert '"bot:9464"' in (REPO / "deploy" / "prometheus.yml").read_text()
