"""SQLite state: migrations (fresh, existing, failing, newer), WAL, caches with TTL, history."""

import sqlite3

import pytest

from albumgan.bot.db import (
    Database,
    DatabaseError,
    GenerationRecord,
    LatentStep,
    Migration,
    packaged_migrations,
)


async def test_fresh_database_is_migrated_in_wal_mode(tmp_path):
    db = await Database.open(tmp_path / "sub" / "bot.db")
    try:
        assert await db.schema_version() == max(m.version for m in packaged_migrations())
        rows = await db._fetchall("PRAGMA journal_mode")
        assert rows[0][0] == "wal"
    finally:
        await db.close()


async def test_migrations_on_an_existing_database_keep_data(tmp_path):
    path = tmp_path / "bot.db"
    db = await Database.open(path)
    gid = await db.add_generation(_record())
    await db.set_setting("discord", "g1", "spoiler", True)
    await db.close()

    extra = Migration(
        len(packaged_migrations()) + 1,
        "0099_note.sql",
        "ALTER TABLE generations ADD COLUMN note TEXT NOT NULL DEFAULT '';\nCREATE TABLE extra (x INTEGER);\n",
    )
    db = await Database.open(path, [*packaged_migrations(), extra])
    try:
        assert await db.schema_version() == extra.version
        assert (await db.get_generation(gid)).title == "Song"
        assert await db.get_setting("discord", "g1", "spoiler") is True
        assert await db._fetchall("SELECT note FROM generations") == [("",)]
    finally:
        await db.close()


async def test_a_failing_migration_changes_nothing(tmp_path):
    path = tmp_path / "bot.db"
    await (await Database.open(path)).close()
    version = len(packaged_migrations())
    broken = Migration(
        version + 1, "0002_broken.sql", "CREATE TABLE half_done (x INTEGER);\nINSERT INTO no_such_table VALUES (1);\n"
    )
    with pytest.raises(DatabaseError, match="nothing was changed"):
        await Database.open(path, [*packaged_migrations(), broken])
    conn = sqlite3.connect(path)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "half_done" not in tables
    assert conn.execute("SELECT version FROM schema_version").fetchone() == (version,)
    conn.close()


async def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "bot.db"
    await (await Database.open(path)).close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE schema_version SET version = 99")
    conn.commit()
    conn.close()
    with pytest.raises(DatabaseError, match="schema version 99, newer than this code"):
        await Database.open(path)


async def test_not_a_database(tmp_path):
    path = tmp_path / "bot.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(DatabaseError, match="not usable"):
        await Database.open(path)


async def test_feature_cache_respects_ttl(tmp_path):
    db = await Database.open(tmp_path / "bot.db")
    try:
        await db.put_features({"t1": ({"energy": 0.5, "tempo": None}, {"energy": "reccobeats"})})
        assert await db.get_features(["t1", "t2"], max_age_s=60) == {
            "t1": ({"energy": 0.5, "tempo": None}, {"energy": "reccobeats"})
        }
        await db._conn.execute("UPDATE feature_cache SET fetched_at = fetched_at - 120")
        assert await db.get_features(["t1"], max_age_s=60) == {}
        await db.put_metadata("track", "t1", {"name": "Song"})
        assert await db.get_metadata("track", "t1", max_age_s=60) == {"name": "Song"}
        assert await db.get_metadata("album", "t1", max_age_s=60) is None
    finally:
        await db.close()


async def test_generation_round_trip(tmp_path):
    db = await Database.open(tmp_path / "bot.db")
    try:
        rec = _record(
            labels=[0.25, -1.0],
            mask=[1.0, 0.0],
            parent_id=None,
            latent_steps=[LatentStep(7, 0.3), LatentStep(2**32 - 1, 0.3)],
        )
        gid = await db.add_generation(rec)
        back = await db.get_generation(gid)
        assert back.id == gid and back.created_at > 0
        assert back.labels == [0.25, -1.0] and back.mask == [1.0, 0.0]
        assert back.latent_steps == rec.latent_steps
        assert back.input_ids == ["a", "b"] and back.features == {"values": {"energy": 0.5}}
        child = await db.add_generation(_record(parent_id=gid))
        assert (await db.get_generation(child)).parent_id == gid
        assert await db.get_generation(9999) is None
    finally:
        await db.close()


def _record(**overrides) -> GenerationRecord:
    fields = dict(
        platform="cli",
        user_id="u1",
        kind="cover",
        title="Song",
        subtitle="Artist",
        seed=123,
        model_kind="acgan",
        model_name="acgan-64",
        model_version="1",
        model_sha256="ab" * 32,
        input_ids=["a", "b"],
        features={"values": {"energy": 0.5}},
    )
    fields.update(overrides)
    return GenerationRecord(**fields)
