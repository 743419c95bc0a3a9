"""Crash-safe file writes, shared by every part that saves something people would hate to
lose (datasets, checkpoints, run logs, models, the bot's outputs). Torch-free.

A write goes to a temp file in the target's folder, is fsynced, renamed over the target
and the folder entry fsynced: a crash at any point leaves the old file or the new one,
never half of either.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

_UMASK = os.umask(0)
os.umask(_UMASK)


def fsync_dir(path: str | os.PathLike) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_temp(directory: str | os.PathLike, name: str, data: bytes) -> Path:
    """A fsynced, ordinary-permission temp file beside where `name` will go, for callers that
    validate several files before publishing them together with os.replace."""
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.tmp-", dir=directory)
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


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temp path beside `path` for code that writes by file name; when the block
    succeeds the file is fsynced and renamed onto `path`, otherwise removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.tmp-", suffix=path.suffix, dir=path.parent)
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
