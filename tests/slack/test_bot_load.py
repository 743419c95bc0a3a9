"""The load benchmark's Slack driver, run small as people run it (a program, not an
import: tests and benchmarks share only fakes/): it must keep measuring what it claims to."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SMALL = ["--requests", "9", "--warmup", "3", "--concurrency", "4", "--mix", "random=1,cover=1,album=1"]


def test_bot_load_over_slack_answers_every_command_kind(tmp_path, tiny_models):
    for kind, path in tiny_models.items():  # under the names the benchmark looks for
        (tmp_path / f"{kind}-64.onnx").symlink_to(path)
    command = [
        sys.executable,
        str(REPO / "benchmarks" / "bot_load.py"),
        "--frontend",
        "slack",
        *SMALL,
        "--models",
        str(tmp_path),
    ]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=240, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    assert "frontend=slack requests=9" in proc.stdout, proc.stdout
    assert "lost: 0  error answers: 0" in proc.stdout, proc.stdout
    assert "ack p50:" in proc.stdout, proc.stdout  # every command was acked on the socket
