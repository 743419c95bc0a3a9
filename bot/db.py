"""The bot's SQLite state (aiosqlite): feature/metadata cache, generation history, settings.

WAL mode so reads never wait for the writer; synchronous=FULL so a committed generation
survives a crash; secure_delete so a deleted row is overwritten, not left in free pages.
Numbered migrations (bot/migrations/NNNN_name.sql) are applied at open, all pending ones in
ONE transaction with the schema_version bump, so a failure leaves the database exactly as
it was. `PRAGMA quick_check` runs at open: a damaged page is reported then, naming the
file, rather than by whichever later query happens to read it.

A cover is made before its history row is written, and cached lookups only spare a later
request some work: neither is worth failing a request for, so `record_generation` and the
cache writes log a storage failure (locked past the busy timeout, disk full) and go on.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import sqlite3
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import aiosqlite

from albumgan.bot.config import BotConfig

log = logging.getLogger(__name__)

_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
# SQLite's answers for "this user may not write here" (the file, or its folder: WAL mode
# keeps -wal and -shm files next to the database).
_CANNOT_WRITE = ("SQLITE_CANTOPEN", "SQLITE_READONLY", "SQLITE_PERM")
_SET_PATH = "or set [database] path in bot.toml"


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


_SELECT_GENERATIONS = (
    "SELECT id, created_at, platform, user_id, channel_id, guild_id, kind, parent_id, "
    "input_link, input_ids_json, title, subtitle, features_json, labels_json, mask_json, "
    "seed, latent_steps_json, model_kind, model_name, model_version, model_sha256 "
    "FROM generations"
)


class Database:
    def __init__(self, conn: aiosqlite.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path
        self._write_lock = asyncio.Lock()  # one explicit transaction at a time on the connection

    @classmethod
    async def open(
        cls, path: str | Path, migrations: Sequence[Migration] | None = None, *, busy_timeout_s: float = 5.0
    ) -> Database:
        """Open (creating folder and file if needed), check and migrate. Every failure is a
        `DatabaseError` whose one line names the file and what to do."""
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DatabaseError(
                f"cannot create the database folder {path.parent} ({exc.strerror}): create it with write access "
                f"for this user {_SET_PATH}"
            ) from exc
        conn = await _connect(path)
        db = cls(conn, path)
        try:
            await conn.execute(f"PRAGMA busy_timeout = {round(busy_timeout_s * 1000)}")
            await conn.execute("PRAGMA journal_mode = WAL")
            await conn.execute("PRAGMA synchronous = FULL")
            await conn.execute("PRAGMA foreign_keys = ON")
            await conn.execute("PRAGMA secure_delete = ON")
            await db._check_integrity()
            await db._migrate(packaged_migrations() if migrations is None else migrations)
        except sqlite3.Error as exc:
            await conn.close()
            raise DatabaseError(_open_problem(path, exc)) from exc
        except BaseException:
            await conn.close()
            raise
        return db

    @classmethod
    async def open_configured(cls, config: BotConfig) -> Database:
        """The database that [database] in bot.toml names, with its settings."""
        return await cls.open(config.path(config.database.path), busy_timeout_s=config.database.busy_timeout_s)

    async def close(self) -> None:
        await self._conn.close()

    async def check_writable(self) -> None:
        """Raise sqlite3.Error if a write would fail now (a read-only file or folder, a lock
        held past busy_timeout_s): a cheap check for /healthz that writes a row and rolls it
        back, so the file never changes."""
        async with self._write_lock:
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                await self._conn.execute("UPDATE schema_version SET version = version")
            finally:
                await self._conn.execute("ROLLBACK")

    async def schema_version(self) -> int:
        rows = await self._fetchall("SELECT version FROM schema_version")
        return int(rows[0][0]) if rows else 0

    async def _check_integrity(self) -> None:
        rows = await self._fetchall("PRAGMA quick_check(3)")
        # "ok", or lines like "*** in database main ***\nOn tree page 7 cell 20: ..."
        lines = [line.strip() for row in rows for line in str(row[0]).splitlines()]
        problems = [line for line in lines if line and line != "ok" and not line.startswith("***")]
        if problems:
            raise DatabaseError(_corrupt(self.path, problems[0]))

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
        try:
            async with self._transaction() as conn:
                for migration in pending:
                    for statement in _statements(migration.sql):
                        await conn.execute(statement)
                await conn.execute("DELETE FROM schema_version")
                await conn.execute("INSERT INTO schema_version (version) VALUES (?)", (pending[-1].version,))
        except sqlite3.Error as exc:
            if _cannot_write(exc) or _locked(exc):
                raise  # not the migration's fault: open() says what to do
            raise DatabaseError(f"database migration failed, nothing was changed: {exc}") from exc
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
        await self._write_cache(
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
        await self._write_cache(
            "INSERT OR REPLACE INTO metadata_cache (kind, object_id, data_json, fetched_at) VALUES (?, ?, ?, ?)",
            [(kind, object_id, json.dumps(data), time.time())],
        )

    async def _write_cache(self, sql: str, rows: list[tuple]) -> None:
        try:
            await self._write_many(sql, rows)
        except sqlite3.OperationalError as exc:
            log.warning("lookup cache not updated (%s); the next request asks again", exc)

    async def prune_caches(self, older_than: float, max_rows: int) -> int:
        """Delete cache entries fetched before `older_than` (they would never be used again),
        then all but the newest `max_rows` of each cache. How many went."""
        deleted = 0
        async with self._transaction() as conn:
            for table in ("feature_cache", "metadata_cache"):
                stale = await conn.execute(f"DELETE FROM {table} WHERE fetched_at < ?", (older_than,))
                surplus = await conn.execute(
                    f"DELETE FROM {table} WHERE rowid IN "
                    f"(SELECT rowid FROM {table} ORDER BY fetched_at DESC LIMIT -1 OFFSET ?)",
                    (max_rows,),
                )
                deleted += stale.rowcount + surplus.rowcount
        return deleted

    # -- history -----------------------------------------------------------------------

    async def record_generations(self, recs: Sequence[GenerationRecord]) -> list[int | None]:
        """`add_generations` for covers that are already made: when the rows cannot be written,
        the covers are still delivered (without history rows, so without buttons) and the
        log says why. Nones then."""
        try:
            return list(await self.add_generations(recs))
        except sqlite3.OperationalError as exc:
            log.error(
                "a %s cover was not saved in the history (%s); it is delivered without buttons", recs[0].kind, exc
            )
            return [None] * len(recs)

    async def add_generation(self, rec: GenerationRecord) -> int:
        return (await self.add_generations([rec]))[0]

    async def add_generations(self, recs: Sequence[GenerationRecord]) -> list[int]:
        """History rows, in one transaction (a grid's four covers: one disk sync, not four)."""
        async with self._transaction() as conn:
            return [await self._insert_generation(conn, rec) for rec in recs]

    @staticmethod
    async def _insert_generation(conn: aiosqlite.Connection, rec: GenerationRecord) -> int:
        cursor = await conn.execute(
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
        rows = await self._fetchall(f"{_SELECT_GENERATIONS} WHERE id = ?", (generation_id,))
        return _generation(rows[0]) if rows else None

    async def generations_of(self, platform: str, user_id: str, limit: int, offset: int = 0) -> list[GenerationRecord]:
        """One person's covers on one platform, newest first (the generations_by_user index)."""
        return [
            _generation(row)
            for row in await self._fetchall(
                f"{_SELECT_GENERATIONS} WHERE platform = ? AND user_id = ? "
                "ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
                (platform, user_id, limit, offset),
            )
        ]

    async def delete_generations_by_id(self, generation_ids: Sequence[int]) -> int:
        """Delete these covers (one answer: its maker's or an admin's request); how many went."""
        ids = [int(i) for i in generation_ids][:100]
        return await self._delete_generations(f"id IN ({', '.join('?' * len(ids))})", tuple(ids)) if ids else 0

    async def was_deleted(self, generation_id: int) -> bool:
        """Whether a missing generation was made here once (ids are never reused: AUTOINCREMENT),
        rather than by another install of the bot."""
        rows = await self._fetchall("SELECT seq FROM sqlite_sequence WHERE name = 'generations'")
        return bool(rows) and 0 < generation_id <= int(rows[0][0])

    async def delete_generations_of(self, platform: str, user_id: str) -> int:
        """Forget one person's covers (their request, or an operator's); how many went."""
        return await self._delete_generations("platform = ? AND user_id = ?", (platform, user_id))

    async def delete_generations_before(self, cutoff: float) -> int:
        return await self._delete_generations("created_at < ?", (cutoff,))

    async def _delete_generations(self, where: str, params: tuple) -> int:
        async with self._transaction() as conn:
            # Covers made from these by a button (possibly someone else's) keep their own
            # copy of the inputs; only the link to the deleted one goes.
            await conn.execute(
                "UPDATE generations SET parent_id = NULL "
                f"WHERE parent_id IN (SELECT id FROM generations WHERE {where})",
                params,
            )
            cursor = await conn.execute(f"DELETE FROM generations WHERE {where}", params)
        if cursor.rowcount:
            # secure_delete zeroed the rows in the pages written to the WAL; copy those over
            # the database file and empty the WAL, so no older copy of the rows stays on disk.
            async with self._write_lock:  # not inside another coroutine's transaction
                await self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return cursor.rowcount

    # -- per-guild settings --------------------------------------------------------------

    async def get_setting(self, platform: str, guild_id: str, key: str, default=None):
        """A setting, or `default`: also while the database is locked (settings are preferences,
        and a cover is still made)."""
        try:
            rows = await self._fetchall(
                "SELECT value_json FROM guild_settings WHERE platform = ? AND guild_id = ? AND key = ?",
                (platform, guild_id, key),
            )
        except sqlite3.OperationalError as exc:
            log.warning("setting %s unreadable (%s): using its default", key, exc)
            return default
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
        async with self._transaction() as conn:
            await conn.executemany(sql, rows)

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """One explicit write transaction: committed when the block ends, rolled back if it raises."""
        async with self._write_lock:
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
                await self._conn.execute("COMMIT")
            except BaseException:
                await self._conn.execute("ROLLBACK")
                raise


async def _connect(path: Path) -> aiosqlite.Connection:
    connection = aiosqlite.connect(path, isolation_level=None)
    try:
        return await connection
    except sqlite3.Error as exc:
        # After a failed connect aiosqlite stops its worker thread without waiting for it; the
        # thread then reports to this event loop, and when the program has closed the loop by
        # then (asyncio.run returning with our error), it prints an "Event loop is closed"
        # traceback under the error. Wait for the thread while the loop still runs.
        await asyncio.to_thread(connection._thread.join, 10)
        raise DatabaseError(_open_problem(path, exc)) from exc


def _cannot_write(exc: sqlite3.Error) -> bool:
    return getattr(exc, "sqlite_errorname", "").startswith(_CANNOT_WRITE)


def _locked(exc: sqlite3.Error) -> bool:
    return getattr(exc, "sqlite_errorname", "").startswith(("SQLITE_BUSY", "SQLITE_LOCKED"))


def _open_problem(path: Path, exc: sqlite3.Error) -> str:
    """One line for an operator: which file, what is wrong, what to do."""
    if _cannot_write(exc):
        return (
            f"cannot write the database {path} ({exc}): the file and its folder must be writable by this user "
            f"(SQLite keeps {path.name}-wal and {path.name}-shm next to it); fix the permissions {_SET_PATH}"
        )
    if getattr(exc, "sqlite_errorname", "").startswith("SQLITE_CORRUPT"):
        return _corrupt(path, str(exc))
    if _locked(exc):
        return (
            f"database {path} is locked by another program for longer than [database] busy_timeout_s ({exc}): "
            "try again when it is done"
        )
    return f"database {path} is not usable: {exc}; move it aside (a new one is made) {_SET_PATH}"


def _corrupt(path: Path, problem: str) -> str:
    return (
        f"database {path} is corrupt ({problem}): restore it from a backup, or move it and its -wal and -shm "
        "files aside (a new, empty one is made; `sqlite3 FILE .recover` may save the old rows)"
    )


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


def _generation(row: tuple) -> GenerationRecord:
    """A GenerationRecord from a row of _SELECT_GENERATIONS."""
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
    ) = row
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
