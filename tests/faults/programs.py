"""Running `albumgan` and `albumgan-data` as programs, as people do: a fresh process (its own
logging set-up, its own environment) against the tiny models and the loopback fakes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.service_fixtures import REPO

RUNNER = "import sys; from albumgan.{module} import main; sys.exit(main(sys.argv[1:]))"
DEAD = "http://127.0.0.1:9"  # nothing listens there


def bot_toml(
    tmp_path: Path,
    models: dict[str, Path],
    *,
    spotify=None,
    recco=None,
    local_table=None,
    database: str | Path = "state/bot.sqlite3",
) -> Path:
    """A bot.toml with the tiny models, Spotify/ReccoBeats at the fakes (or at a closed port
    when not given), local tracks only from `local_table`, when given, and the database at
    `database` (relative: to tmp_path)."""
    local = ["local"] if local_table else []
    path = tmp_path / "bot.toml"
    path.write_text(
        f"""
[models]
unconditional = "{models["unconditional"]}"
acgan = "{models["acgan"]}"
[features]
providers = {[*local, "reccobeats", "spotify-popularity"]}
local_path = "{local_table or ""}"
reccobeats_base = "{recco.base_url if recco else DEAD}"
timeout_s = 5.0
[spotify]
api_base = "{spotify.api_base if spotify else DEAD + "/v1/"}"
token_url = "{spotify.token_url if spotify else DEAD + "/api/token"}"
timeout_s = 5.0
[database]
path = "{database}"
""",
        encoding="utf-8",
    )
    return path


def run(module: str, *args: str | Path, env: dict[str, str] | None = None, cwd: Path = REPO, timeout: float = 120):
    """`albumgan.<module>`'s main as a program, with `env` added to this process's environment."""
    return subprocess.run(
        [sys.executable, "-c", RUNNER.format(module=module), *map(str, args)],
        env={**os.environ, **(env or {})},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def crawl(tmp_path: Path, album: str, *, spotify=None, recco=None, verbose=False, env: dict[str, str] | None = None):
    """`albumgan-data crawl` of one album into tmp_path, against the fakes (or a closed port)."""
    return run(
        "training.data_cli",
        *(["-v"] if verbose else []),
        "crawl",
        "--seeds",
        f"album:{album}",
        "--state",
        tmp_path / "crawl.sqlite",
        "--out",
        tmp_path / "ds",
        "--api-base",
        spotify.api_base if spotify else DEAD + "/v1/",
        "--token-url",
        spotify.token_url if spotify else DEAD + "/api/token",
        "--reccobeats-url",
        recco.base_url if recco else DEAD,
        "--resolution",
        "16",
        env=env,
    )
