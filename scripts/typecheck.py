"""Type-check the installed `albumgan` namespace with mypy: `python scripts/typecheck.py`.

mypy cannot follow setuptools' editable-install finder, which maps `albumgan.bot` to bot/,
`albumgan.training` to training/ and `albumgan.export` to export/. So this builds that
namespace as a tree of symlinks under var/typecheck/ (git-ignored) and checks it there;
settings are in pyproject.toml ([tool.mypy]). Exit status is mypy's.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PARTS = {"bot": "bot", "training": "training", "export": "export"}  # albumgan.<name> -> folder


def link_tree(root: Path) -> Path:
    package = root / "albumgan"
    if root.exists():
        shutil.rmtree(root)
    package.mkdir(parents=True)
    for entry in (REPO / "albumgan").iterdir():
        if entry.name != "__pycache__":
            (package / entry.name).symlink_to(entry)
    for name, folder in PARTS.items():
        (package / name).symlink_to(REPO / folder)
    return root


def main() -> int:
    root = link_tree(REPO / "var" / "typecheck")
    command = [sys.executable, "-m", "mypy", "--config-file", str(REPO / "pyproject.toml"), "-p", "albumgan"]
    return subprocess.run(command, cwd=root).returncode


if __name__ == "__main__":
    sys.exit(main())
