"""The bot's SQLite state (aiosqlite): feature/metadata cache, generation history, settings.

WAL mode so reads never wait for the writer; synchronous=FULL so a committed generation
survives a crash. Numbered migrations (bot/migrations/NNNN_name.sql) are applied at open,
all pending ones in ONE transaction with the schema_version bump, so a failure leaves the
database exactly as it was.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import aiosqlite

log = logging.getLogger(__name__)

_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


class DatabaseError(Exception):
    """The database cannot be used (newer schema, unreadable file, failed migration)."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def packaged_migrations() -> list[Migration]:
    out = []
    for entry in resources.files("albumgan.bot.migrations").iterdir():
        m = _MIGRATION_NAME.match(entry.name)
        if m:
            out.append(Migration(int(m.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    return sorted(out, key=lambda mig: mig.version)


@dataclass(frozen=True)
class LatentStep:
    """One "Variations" step: z <- perturb(z, seed, strength)."""

    seed: int
    strength: float


@dataclass(frozen=True)
class GenerationRecord:
    platform: str
    user_id: str
    kind: str  # "cover", "album", "random"
    title: str
    subtitle: str
    seed: int
    model_kind: str
    model_name: str
    model_version: str
    model_sha256: str
    channel_id: str = ""
    guild_id: str = ""
    parent_id: int | None = None
    input_link: str = ""
    input_ids: list[str] = field(default_factory=list)
    features: dict | None = None  # {"values": {...}, "sources": {...}, "tracks_used": n, ...}
    labels: list[float] | None = None  # normalised condition as fed to the model
    mask: list[float] | None = None
    latent_steps: list[LatentStep] = field(default_factory=list)
    id: int | None = None
    created_at: float = 0.0


class Database:
    def __init__(self, conn: aiosqlite.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path
        self._write_lock = asyncio.Lock()  # one explicit transaction at a time on the connection

    @classmethod
    async def open(cls, path: str | Path, migrations: Sequence[Migration] | None = None) -> Database:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            conn = await aiosqlite.connect(path, isolation_level=None)
        except sqlite3.Error as exc:
            raise DatabaseError(f"cannot open database {path}: {exc}") from exc
        db = cls(conn, path)
        try:
            await conn.execute("PRAGMA busy_timeout = 5000")
            await conn.execute("PRAGMA journal_mode = WAL")
            await conn.execute("PRAGMA synchronous = FULL")
            await conn.execute("PRAGMA foreign_keys = ON")
            await db._migrate(packaged_migrations() if migrations is None else migrations)
        except sqlite3.DatabaseError as exc:
            await conn.close()
            raise DatabaseError(f"database {path} is not usable: {exc}") from exc
        except BaseException:
            await conn.close()
            raise
        return db

    async def close(self) -> None:
        await self._conn.close()

    async def schema_version(self) -> int:
        rows = await self._fetchall("SELECT version FROM schema_version")
        return int(rows[0][0]) if rows else 0

    async def _migrate(self, migrations: Sequence[Migration]) -> None:
        await self._conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        current = await self.schema_version()
        known = max((m.version for m in migrations), default=0)
        if current > known:
            raise DatabaseError(
                f"database {self.path} has schema version {current}, newer than this code "
                f"knows ({known}); upgrade albumgan or point [database] path at another file"
            )
        pending = [m for m in migrations if m.version > current]
        if not pending:
            return
        async with self._write_lock:
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                for migration in pending:
                    for statement in _statements(migration.sql):
                        await self._conn.execute(statement)
                await self._conn.execute("DELETE FROM schema_version")
                await self._conn.execute("INSERT INTO schema_version (version) VALUES (?)", (pending[-1].version,))
                await self._conn.execute("COMMIT")
            except BaseException as exc:
                await self._conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise DatabaseError(f"database migration failed, nothing was changed: {exc}") from exc
                raise
        log.info("database %s migrated from schema %d to %d", self.path, current, pending[-1].version)

    # -- caches ------------------------------------------------------------------------

    async def get_features(self, track_ids: Iterable[str], max_age_s: float) -> dict[str, tuple[dict, dict]]:
        """Cached (values, sources) by track id, only entries younger than max_age_s."""
        ids = list(dict.fromkeys(track_ids))
        if not ids:
            return {}
        oldest = time.time() - max_age_s
        out = {}
        for chunk in _chunks(ids, 500):
            rows = await self._fetchall(
                "SELECT track_id, values_json, sources_json FROM feature_cache "
                f"WHERE fetched_at >= ? AND track_id IN ({','.join('?' * len(chunk))})",
                (oldest, *chunk),
            )
            for track_id, values_json, sources_json in rows:
                out[track_id] = (json.loads(values_json), json.loads(sources_json))
        return out

    async def put_features(self, entries: dict[str, tuple[dict, dict]]) -> None:
        now = time.time()
        rows = [(tid, json.dumps(values), json.dumps(sources), now) for tid, (values, sources) in entries.items()]
        await self._write_many(
            "INSERT OR REPLACE INTO feature_cache (track_id, values_json, sources_json, "
            "fetched_at) VALUES (?, ?, ?, ?)",
            rows,
        )

    async def get_metadata(self, kind: str, object_id: str, max_age_s: float) -> dict | None:
        rows = await self._fetchall(
            "SELECT data_json FROM metadata_cache WHERE kind = ? AND object_id = ? AND fetched_at >= ?",
            (kind, object_id, time.time() - max_age_s),
        )
        return json.loads(rows[0][0]) if rows else None

    async def put_metadata(self, kind: str, object_id: str, data: dict) -> None:
        await self._write_many(
            "INSERT OR REPLACE INTO metadata_cache (kind, object_id, data_json, fetched_at) VALUES (?, ?, ?, ?)",
            [(kind, object_id, json.dumps(data), time.time())],
        )

    # -- history -----------------------------------------------------------------------

    async def add_generation(self, rec: GenerationRecord) -> int:
        async with self._write_lock:
            cursor = await self._conn.execute(
                "INSERT INTO generations (created_at, platform, user_id, channel_id, guild_id, "
                "kind, parent_id, input_link, input_ids_json, title, subtitle, features_json, "
                "labels_json, mask_json, seed, latent_steps_json, model_kind, model_name, "
                "model_version, model_sha256) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    time.time(),
                    rec.platform,
                    rec.user_id,
                    rec.channel_id,
                    rec.guild_id,
                    rec.kind,
                    rec.parent_id,
                    rec.input_link,
                    json.dumps(rec.input_ids),
                    rec.title,
                    rec.subtitle,
                    _dumps_or_none(rec.features),
                    _dumps_or_none(rec.labels),
                    _dumps_or_none(rec.mask),
                    rec.seed,
                    json.dumps([[s.seed, s.strength] for s in rec.latent_steps]),
                    rec.model_kind,
                    rec.model_name,
                    rec.model_version,
                    rec.model_sha256,
                ),
            )
            assert cursor.lastrowid is not None  # an INSERT always sets it
            return cursor.lastrowid

    async def get_generation(self, generation_id: int) -> GenerationRecord | None:
        rows = await self._fetchall(
            "SELECT id, created_at, platform, user_id, channel_id, guild_id, kind, parent_id, "
            "input_link, input_ids_json, title, subtitle, features_json, labels_json, mask_json, "
            "seed, latent_steps_json, model_kind, model_name, model_version, model_sha256 "
            "FROM generations WHERE id = ?",
            (generation_id,),
        )
        if not rows:
            return None
        (
            gid,
            created,
            platform,
            user_id,
            channel_id,
            guild_id,
            kind,
            parent_id,
            link,
            ids,
            title,
            subtitle,
            features,
            labels,
            mask,
            seed,
            steps,
            mkind,
            mname,
            mversion,
            msha,
        ) = rows[0]
        return GenerationRecord(
            id=gid,
            created_at=created,
            platform=platform,
            user_id=user_id,
            channel_id=channel_id,
            guild_id=guild_id,
            kind=kind,
            parent_id=parent_id,
            input_link=link,
            input_ids=json.loads(ids),
            title=title,
            subtitle=subtitle,
            features=_loads_or_none(features),
            labels=_loads_or_none(labels),
            mask=_loads_or_none(mask),
            seed=seed,
            latent_steps=[LatentStep(int(s), float(k)) for s, k in json.loads(steps)],
            model_kind=mkind,
            model_name=mname,
            model_version=mversion,
            model_sha256=msha,
        )

    # -- per-guild settings --------------------------------------------------------------

    async def get_setting(self, platform: str, guild_id: str, key: str, default=None):
        rows = await self._fetchall(
            "SELECT value_json FROM guild_settings WHERE platform = ? AND guild_id = ? AND key = ?",
            (platform, guild_id, key),
        )
        return json.loads(rows[0][0]) if rows else default

    async def set_setting(self, platform: str, guild_id: str, key: str, value) -> None:
        await self._write_many(
            "INSERT OR REPLACE INTO guild_settings (platform, guild_id, key, value_json, "
            "updated_at) VALUES (?, ?, ?, ?, ?)",
            [(platform, guild_id, key, json.dumps(value), time.time())],
        )

    # -- helpers -----------------------------------------------------------------------

    async def _fetchall(self, sql: str, params: Sequence = ()) -> list[tuple]:
        async with self._conn.execute(sql, params) as cursor:
            return [tuple(row) for row in await cursor.fetchall()]

    async def _write_many(self, sql: str, rows: list[tuple]) -> None:
        if not rows:
            return
        async with self._write_lock:
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                await self._conn.executemany(sql, rows)
                await self._conn.execute("COMMIT")
            except BaseException:
                await self._conn.execute("ROLLBACK")
                raise


def _statements(sql: str) -> list[str]:
    """Split a migration into statements; executescript() would commit between them."""
    out, buf = [], ""
    for line in sql.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            if buf.strip():
                out.append(buf.strip())
            buf = ""
    if buf.strip() and not all(ln.strip().startswith("--") or not ln.strip() for ln in buf.splitlines()):
        raise DatabaseError(f"migration has an unterminated statement: {buf.strip()[:60]!r}")
    return out


def _chunks(items: list, size: int) -> Iterable[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _dumps_or_none(value) -> str | None:
    return None if value is None else json.dumps(value)


def _loads_or_none(text: str | None):
    return None if text is None else json.loads(text)
