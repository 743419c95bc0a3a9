"""Crash-safe file writes, shared by every part that saves something people would hate to
lose (datasets, checkpoints, run logs, models, the bot's outputs). Torch-free.

A write goes to a temp file in the target's folder, is fsynced, renamed over the target
and the folder entry fsynced: a crash at any point leaves the old file or the new one,
never half of either. A device, FIFO or socket already at the target (`-o /dev/null`, a
named pipe, /dev/stdout) is written into instead: renaming over it would turn /dev/null
into a PNG for everyone, and a reader waiting on a pipe would never get the bytes.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

_UMASK = os.umask(0)
os.umask(_UMASK)
_TEMP_MARK = ".tmp-"  # temp files are ".<target name>.tmp-<random>": hidden, and findable after a crash


def fsync_dir(path: str | os.PathLike) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_temp(directory: str | os.PathLike, name: str, data: bytes) -> Path:
    """A fsynced, ordinary-permission temp file beside where `name` will go, for callers that
    validate several files before publishing them together with os.replace."""
    fd, tmp = tempfile.mkstemp(prefix=f".{name}{_TEMP_MARK}", dir=directory)
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp makes 0600; these are ordinary files
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)


def is_special_file(path: str | os.PathLike) -> bool:
    """Whether `path` (through links) is a device, FIFO or socket: something to write into,
    never to replace."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def remove_temps(directory: str | os.PathLike) -> list[Path]:
    """Delete the temp files that writers killed mid-write (kill -9, power loss) left in
    `directory`, and return them. Only for a folder no write is in flight to: a temp file
    is indistinguishable from one being written."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    stale = [p for p in directory.iterdir() if p.name.startswith(".") and _TEMP_MARK in p.name and p.is_file()]
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temp path beside `path` for code that writes by file name; when the block
    succeeds the file is fsynced and renamed onto `path`, otherwise removed. A device or
    FIFO at `path` is yielded itself: there is nothing to replace atomically."""
    path = Path(path)
    if is_special_file(path):
        yield path
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}{_TEMP_MARK}", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; these are ordinary files
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
        fsync_dir(path.parent)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], object]) -> Path:
    """`write(f)` into a temp file, then publish it at `path` atomically."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        write(f)
    return Path(path)


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    return atomic_write(path, lambda f: f.write(data))


def write_json(path: str | os.PathLike, data: dict, *, sort_keys: bool = False) -> Path:
    return write_bytes(path, (json.dumps(data, indent=2, sort_keys=sort_keys) + "\n").encode())
