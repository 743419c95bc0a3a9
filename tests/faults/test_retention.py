"""Privacy and retention: a person deletes their own covers (Discord, Slack), an operator
deletes anyone's (`albumgan forget`), and what is past its keeping time is pruned, at start,
periodically and by `albumgan prune`. Deleted covers' buttons say so, kindly."""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
import time
from pathlib import Path

import pytest

from albumgan.bot.cli import main
from albumgan.bot.config import ConfigError, StorageConfig, config_from_dict
from albumgan.bot.types import Requester, UserError
from tests.faults.programs import bot_toml
from tests.service_fixtures import make_config

pytestmark = pytest.mark.timeout(60)

DAY_S = 24 * 3600
ALICE_ID = "424242424242424242"  # distinctive: the test looks for it in the database file's bytes
BOB_ID = "515151515151515151"


@pytest.fixture
def real_config(tmp_path, tiny_models, fake_spotify, fake_recco):
    return make_config(tmp_path, tiny_models, spotify=fake_spotify, recco=fake_recco)


def database_bytes(path: Path) -> bytes:
    """The database as it is on disk: the file, its write-ahead log and shared memory."""
    return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists())


def users_in(path: Path) -> list[tuple[str, str]]:
    conn = sqlite3.connect(path)
    try:
        return sorted(conn.execute("SELECT DISTINCT platform, user_id FROM generations"))  # a grid: 4 rows
    finally:
        conn.close()


def age(path: Path, sql: str, seconds: float) -> None:
    """Make rows look `seconds` older (`sql`: an UPDATE with one ? for the seconds)."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute(sql, (seconds,))
    finally:
        conn.close()


async def test_forget_on_discord_deletes_only_that_persons_covers(fake_discord, start_bot, open_service, real_config):
    service = await open_service(real_config)
    await start_bot(service)
    made = {}
    for user, seed in ((ALICE_ID, 1), (ALICE_ID, 2), (BOB_ID, 3)):
        log = await fake_discord.send_interaction(fake_discord.slash_command("random", {"seed": seed}, user_id=user))
        made[seed] = await log.wait_final()

    log = await fake_discord.send_interaction(fake_discord.slash_command("forget", user_id=ALICE_ID))
    answer = await log.wait_final()
    assert answer.ephemeral and "Deleted the 8 covers you made" in answer.content, answer.content  # 2 grids

    database = real_config.path(real_config.database.path)
    assert users_in(database) == [("discord", BOB_ID)]
    assert ALICE_ID.encode() not in database_bytes(database)  # overwritten, not just unlinked

    reroll = made[1].custom_ids()[0]
    click = await fake_discord.send_interaction(fake_discord.button_click(reroll, message=made[1], user_id=ALICE_ID))
    gone = await click.wait_final()
    assert gone.ephemeral and "no longer available" in gone.content and "incident" not in gone.content

    reroll = made[3].custom_ids()[0]
    click = await fake_discord.send_interaction(fake_discord.button_click(reroll, message=made[3], user_id=BOB_ID))
    assert (await click.wait_final()).files  # Bob's covers and buttons are untouched

    again = await fake_discord.send_interaction(fake_discord.slash_command("forget", user_id=ALICE_ID))
    assert "no covers of yours" in (await again.wait_final()).content


async def test_forget_on_slack_deletes_only_that_persons_covers(fake_slack, start_slack, open_service, real_config):
    service = await open_service(real_config)
    await start_slack(service)
    alice = [await (await fake_slack.send_command("/random", str(s), user_id="U0ALICE")).wait_final() for s in (1, 2)]
    bob = await (await fake_slack.send_command("/random", "3", user_id="U0BOB")).wait_final()
    made_on_discord = await service.random(Requester(platform="discord", user_id="U0ALICE"), seed=4)

    answer = await (await fake_slack.send_command("/forget", user_id="U0ALICE")).wait_final()
    assert answer.ephemeral and "Deleted the 8 covers you made" in answer.text, answer.text  # 2 grids
    database = real_config.path(real_config.database.path)
    # the same id on another platform is another person
    assert users_in(database) == [("discord", "U0ALICE"), ("slack", "U0BOB")]
    assert made_on_discord.generation_id is not None

    gone = await (await fake_slack.click(alice[0], "albumgan:variations", user_id="U0ALICE")).wait_final()
    assert gone.ephemeral and "no longer available" in gone.text and "incident" not in gone.text
    kept = await (await fake_slack.click(bob, "albumgan:reroll", user_id="U0BOB")).wait_final()
    assert kept.buttons() and "Random cover" in kept.all_text


async def test_old_covers_and_stale_cache_entries_are_pruned_at_start(open_service, real_config, catalog, alice):
    config = dataclasses.replace(real_config, storage=StorageConfig(history_days=30, cache_max_rows=100))
    service = await open_service(config)
    old = await service.cover(f"spotify:track:{next(iter(catalog.tracks))}", alice, seed=1)
    child = await service.reroll(old.generation_id, alice)  # made from the old one, but recent
    database = config.path(config.database.path)
    age(database, f"UPDATE generations SET created_at = created_at - ? WHERE id = {old.generation_id}", 31 * DAY_S)
    age(database, "UPDATE metadata_cache SET fetched_at = fetched_at - ?", config.features.cache_ttl_s + 60)
    await service.close()

    service = await open_service(config)  # a restart prunes
    assert await service.db.get_generation(old.generation_id) is None
    assert (await service.db.get_generation(child.generation_id)).parent_id is None
    assert await service.db._fetchall("SELECT COUNT(*) FROM metadata_cache") == [(0,)]
    assert await service.db._fetchall("SELECT COUNT(*) FROM feature_cache") == [(1,)]  # still fresh
    with pytest.raises(UserError, match="no longer available"):
        await service.variation(old.generation_id, alice)


async def test_pruning_runs_periodically_while_serving(open_service, real_config, alice):
    config = dataclasses.replace(real_config, storage=StorageConfig(history_days=1, prune_interval_s=1))
    service = await open_service(config)
    made = await service.random(alice, seed=1)
    age(config.path(config.database.path), "UPDATE generations SET created_at = created_at - ?", 2 * DAY_S)
    deadline = time.monotonic() + 10
    while await service.db.get_generation(made.generation_id) is not None:
        assert time.monotonic() < deadline, "not pruned within 10 s"
        await asyncio.sleep(0.1)


def test_operator_forget_and_prune_commands(tmp_path, tiny_models, capsys):
    database = tmp_path / "state" / "bot.sqlite3"
    config = bot_toml(tmp_path, tiny_models, database=database)
    for seed in (1, 2):
        assert main(["--config", str(config), "random", "--seed", str(seed), "-o", str(tmp_path / "r.png")]) == 0
    (cli_user,) = {user for _, user in users_in(database)}

    assert main(["--config", str(config), "forget", "--user", "discord:123"]) == 0
    assert "deleted 0 cover(s) of discord:123" in capsys.readouterr().out
    assert main(["--config", str(config), "forget", "--user", f"cli:{cli_user}"]) == 0
    assert f"deleted 2 cover(s) of cli:{cli_user}" in capsys.readouterr().out
    assert users_in(database) == []

    assert main(["--config", str(config), "random", "-o", str(tmp_path / "r.png")]) == 0
    age(database, "UPDATE generations SET created_at = created_at - ?", 200 * DAY_S)  # default: 180 days
    assert main(["--config", str(config), "prune"]) == 0
    assert "deleted 1 cover(s) older than 180 days" in capsys.readouterr().out
    assert users_in(database) == []


@pytest.mark.parametrize("user", ["discord", "myspace:1", "slack:", "123"])
def test_operator_forget_wants_platform_and_id(tmp_path, tiny_models, capsys, user):
    config = bot_toml(tmp_path, tiny_models)
    with pytest.raises(SystemExit) as exit_:
        main(["--config", str(config), "forget", "--user", user])
    assert exit_.value.code == 2 and "PLATFORM:ID" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("storage", "message"),
    [
        ({"history_days": -1}, "storage.history_days must be from 0"),
        ({"history_days": 7.5}, "storage.history_days must be a whole number"),
        ({"cache_max_rows": 10}, "storage.cache_max_rows must be at least 100"),
        ({"prune_interval_s": 0}, "storage.prune_interval_s must be at least 1"),
        ({"keep_forever": True}, "unknown key 'keep_forever' in [storage]"),
    ],
)
def test_storage_settings_are_checked(storage, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        config_from_dict({"storage": storage})
