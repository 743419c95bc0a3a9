"""Storage faults: a database folder that cannot be written, a corrupt database file, and a
database locked by someone else while a cover is being made.

The first two run the `albumgan` program, as an operator would meet them: one line on
stderr saying which file and what to do, exit code 3 ("something needed is unavailable"),
no traceback. The locked database goes through the service: the cover still reaches the
person, only its history row is missing (and the log says so)."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from albumgan.bot.config import BotConfig
from albumgan.bot.db import Database, GenerationRecord
from tests.discord.test_end_to_end import track_link
from tests.faults.programs import bot_toml
from tests.service_fixtures import make_config
from tests.stub_service import decoded

pytestmark = pytest.mark.timeout(120)

EXIT_UNAVAILABLE = 3


def run_albumgan(config: Path, *args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "albumgan.bot.cli", "--config", str(config), *args]
    if os.geteuid() == 0:
        # root writes through any file mode; without these two capabilities it meets the
        # folder's mode like anyone else
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv: no folder is read-only to root")
        command = [setpriv, "--bounding-set", "-dac_override,-dac_read_search", "--", *command]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=100, cwd=config.parent)
    if proc.stderr.startswith("setpriv:"):
        pytest.skip(f"cannot drop root's file capabilities here: {proc.stderr.strip()}")
    return proc


@pytest.fixture
def read_only_folder(tmp_path):
    folder = tmp_path / "readonly"
    folder.mkdir()
    yield folder
    folder.chmod(0o755)  # so that pytest can remove it


def assert_one_line(proc: subprocess.CompletedProcess, *says: str) -> str:
    assert proc.returncode == EXIT_UNAVAILABLE, (proc.returncode, proc.stderr)
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    for text in says:
        assert text in lines[0], lines[0]
    return lines[0]


def test_a_database_folder_that_cannot_be_created(tmp_path, tiny_models, read_only_folder):
    database = read_only_folder / "state" / "bot.sqlite3"
    read_only_folder.chmod(0o555)
    proc = run_albumgan(bot_toml(tmp_path, tiny_models, database=database), "random", "-o", "r.png")
    assert_one_line(proc, str(database.parent), "[database] path")
    assert not (tmp_path / "r.png").exists()


def test_a_read_only_database_folder(tmp_path, tiny_models, read_only_folder):
    database = read_only_folder / "bot.sqlite3"
    read_only_folder.chmod(0o555)
    proc = run_albumgan(bot_toml(tmp_path, tiny_models, database=database), "random", "-o", "r.png")
    assert_one_line(proc, str(database), "writable", "[database] path")


async def test_a_database_in_a_folder_that_became_read_only(tmp_path, tiny_models, read_only_folder):
    database = read_only_folder / "bot.sqlite3"
    await (await Database.open(database)).close()
    read_only_folder.chmod(0o555)
    proc = run_albumgan(bot_toml(tmp_path, tiny_models, database=database), "random", "-o", "r.png")
    assert_one_line(proc, str(database), "writable", "[database] path")


async def test_a_corrupt_database_is_found_at_start(tmp_path, tiny_models):
    database = tmp_path / "bot.sqlite3"
    db = await Database.open(database)
    for seed in range(300):  # enough rows for the table to span many pages
        await db.add_generation(
            GenerationRecord(
                platform="cli",
                user_id="alice",
                kind="random",
                title="Random cover " * 10,
                subtitle=f"seed {seed}",
                seed=seed,
                model_kind="unconditional",
                model_name="unconditional-16",
                model_version="1",
                model_sha256="ab" * 32,
            )
        )
    await db.close()
    scribble_on_the_generations_table(database)

    # `about` never reads the history: without a check at start, nobody would notice
    proc = run_albumgan(bot_toml(tmp_path, tiny_models, database=database), "about")
    assert_one_line(proc, str(database), "corrupt", "backup")


def scribble_on_the_generations_table(database: Path) -> None:
    """Overwrite the child page pointers of the table's root page, as a bad sector would."""
    conn = sqlite3.connect(database)
    (root,) = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'generations'").fetchone()
    (page_size,) = conn.execute("PRAGMA page_size").fetchone()
    conn.close()
    with database.open("r+b") as f:
        f.seek((root - 1) * page_size)
        assert f.read(1) == b"\x05"  # an interior table page: many leaves below it
        f.seek((root - 1) * page_size + 12)
        f.write(b"\xff" * 64)


@contextlib.contextmanager
def write_lock_held(config: BotConfig) -> Iterator[None]:
    """Another process holding the database's write lock, for longer than the bot waits."""
    locker = sqlite3.connect(config.path(config.database.path), isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        locker.execute("ROLLBACK")
        locker.close()


def impatient(config: BotConfig) -> BotConfig:
    """The test's config with a short busy timeout: the lock outlasts it at once."""
    return dataclasses.replace(config, database=dataclasses.replace(config.database, busy_timeout_s=0.1))


async def test_a_locked_database_still_delivers_the_cover(
    tmp_path, tiny_models, fake_spotify, fake_recco, catalog, alice, open_service, caplog
):
    service = await open_service(impatient(make_config(tmp_path, tiny_models, spotify=fake_spotify, recco=fake_recco)))
    with write_lock_held(service.config), caplog.at_level(logging.WARNING):
        cover = await service.cover(track_link(catalog), alice, seed=3)  # cache writes and history row
        random = await service.random(alice, seed=5)
    for result in (cover, random):
        assert decoded(result.image_png).size == (512, 512)
        assert result.generation_id is None  # delivered, without a history row (so no buttons)
    assert cover.card_png is not None and cover.features is not None
    assert "not saved in the history" in caplog.text and "database is locked" in caplog.text
    assert (await service.random(alice, seed=5)).generation_id is not None  # lock gone: stored again


async def test_a_cover_that_could_not_be_saved_reaches_discord_without_buttons(
    tmp_path, tiny_models, open_service, fake_discord, start_bot
):
    config = impatient(make_config(tmp_path, tiny_models))
    await start_bot(await open_service(config))
    with write_lock_held(config):
        log = await fake_discord.send_interaction(fake_discord.slash_command("random", {"seed": 4}))
        final = await log.wait_final()
    assert not final.ephemeral and decoded(final.file("cover.png")).size == (520, 520)  # a grid of four
    assert final.custom_ids() == []  # nothing stored to reroll from
    assert final.embeds[0]["footer"]["text"].startswith("not saved")
