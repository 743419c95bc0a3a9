"""Where evaluation caches live, and atomic PNG output (training.atomic does the writing)."""

from __future__ import annotations

import os
from pathlib import Path

from albumgan.atomic import atomic_path, write_json  # noqa: F401  (the metrics' file API)

CACHE_ENV = "ALBUMGAN_CACHE_DIR"


def default_cache_dir() -> Path:
    """`$ALBUMGAN_CACHE_DIR`, else `$XDG_CACHE_HOME/albumgan` or `~/.cache/albumgan`."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "albumgan"


def save_png(path: str | os.PathLike, image) -> Path:
    """Save a PIL image as PNG atomically."""
    with atomic_path(path) as tmp:
        image.save(tmp, format="PNG")
    return Path(path)
