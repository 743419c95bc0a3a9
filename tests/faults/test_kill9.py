"""`kill -9` in the middle of writes loses nothing that was acknowledged and leaves nothing half
written: the history database (SQLite in WAL mode, synchronous=FULL) and every file the crash-safe
writer saves (PNGs, datasets, checkpoints, exports). Each test starts a real process that writes
in a loop, kills it with SIGKILL at an arbitrary moment, and checks what is on disk."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from albumgan.bot.db import Database

WRITER_DB = textwrap.dedent(
    """
    import asyncio, sys
    from albumgan.bot.db import Database, GenerationRecord

    async def main(path):
        db = await Database.open(path)
        n = 0
        while True:
            n += 1
            gid = await db.add_generation(GenerationRecord(
                platform="cli", user_id=f"u{n}", kind="random", title=f"cover {n}", subtitle="", seed=n,
                model_kind="unconditional", model_name="m", model_version="1", model_sha256="x"))
            print(gid, flush=True)  # acknowledged: the row is committed

    asyncio.run(main(sys.argv[1]))
    """
)

WRITER_FILE = textwrap.dedent(
    """
    import sys
    from albumgan.atomic import atomic_write

    def write_version(f, n):  # in chunks, as PNG encoders and torch.save write
        for _ in range(64):
            f.write(bytes([n % 256]) * 62_500)
            f.flush()

    n = 0
    while True:
        n += 1
        atomic_write(sys.argv[1], lambda f: write_version(f, n))  # every version is one byte repeated
        print(n, flush=True)
    """
)


def _kill_after(program: str, target: Path, acknowledged_lines: int) -> list[str]:
    """Run `program target`, SIGKILL it once it has printed `acknowledged_lines` lines; its output."""
    process = subprocess.Popen(
        [sys.executable, "-c", program, str(target)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    lines = []
    deadline = time.monotonic() + 120
    while len(lines) < acknowledged_lines and time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.strip())
    process.send_signal(signal.SIGKILL)
    rest, errors = process.communicate()
    assert process.returncode == -signal.SIGKILL, errors
    return lines + rest.split()


def test_a_killed_bot_loses_no_acknowledged_cover_and_leaves_a_sound_database(tmp_path):
    path = tmp_path / "bot.db"
    acknowledged = _kill_after(WRITER_DB, path, 300)
    assert len(acknowledged) >= 300

    async def reopen() -> list[int]:
        db = await Database.open(path)  # runs PRAGMA quick_check: a damaged file would raise
        try:
            return [int(gid) for gid in acknowledged if await db.get_generation(int(gid)) is not None]
        finally:
            await db.close()

    found = asyncio.run(reopen())
    assert found == [int(gid) for gid in acknowledged]


def test_a_killed_writer_leaves_the_old_file_or_the_new_one_never_a_mix(tmp_path):
    target = tmp_path / "out.bin"
    for _ in range(3):
        written = _kill_after(WRITER_FILE, target, 5)
        data = target.read_bytes()
        assert len(data) == 4_000_000 and len(set(data)) == 1, "a torn file"
        # the file is the last acknowledged version or the one being written when killed
        assert data[0] in {int(written[-1]) % 256, (int(written[-1]) + 1) % 256}
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "out.bin"]
    # temp files of killed writes may remain beside the target (never mistaken for it);
    # checkpoints prune theirs at the next start (test_checkpoint_faults.py)
    assert all(name.startswith(".out.bin.tmp-") for name in leftovers), leftovers
    assert os.stat(target).st_mode & 0o777 != 0o600  # an ordinary file, not mkstemp's private mode
