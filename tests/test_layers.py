"""Who may import whom (README, "What is where"), checked on the source of every module.

    core (albumgan/)        the core only; never torch
    bot (bot/)              core, bot; never torch, training or export
    training (training/)    core, training; never the bot or export
    export (export/)        core, training, export; never the bot

Every import counts, including those inside functions, and the un-namespaced names
(`import bot`, `from training import ...`) are refused everywhere: installed, they would
collide with any other package of that name.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FOLDERS = {"core": "albumgan", "bot": "bot", "training": "training", "export": "export"}
MAY_IMPORT = {
    "core": {"core"},
    "bot": {"core", "bot"},
    "training": {"core", "training"},
    "export": {"core", "training", "export"},
}
TORCH = {"torch", "torchvision"}
TORCH_FREE = {"core", "bot"}


def part_of(module: str) -> str | None:
    """Which part an imported module belongs to: a part name, "torch", "legacy" (an
    un-namespaced bot/training/export import) or None (stdlib and third-party)."""
    top, _, rest = module.partition(".")
    if top in TORCH:
        return "torch"
    if top in ("bot", "training", "export", "core"):
        return "legacy"
    if top != "albumgan":
        return None
    sub = rest.partition(".")[0]
    return sub if sub in ("bot", "training", "export") else "core"


def imports_of(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
            if node.module == "albumgan":  # `from albumgan import bot` names a part too
                found += [(node.lineno, f"albumgan.{alias.name}") for alias in node.names]
    return found


def violations(part: str, folder: Path) -> list[str]:
    bad = []
    for path in sorted(folder.rglob("*.py")):
        for line, module in imports_of(path):
            target = part_of(module)
            if target is None or target in MAY_IMPORT[part]:
                continue
            if target == "torch" and part not in TORCH_FREE:
                continue
            bad.append(f"{path.relative_to(folder.parent)}:{line} imports {module}")
    return bad


@pytest.mark.parametrize("part", sorted(FOLDERS))
def test_each_part_imports_only_what_it_may(part):
    assert violations(part, REPO / FOLDERS[part]) == []


def test_the_check_catches_what_it_forbids(tmp_path):
    (tmp_path / "engine.py").write_text(
        "import numpy\nimport torch\nfrom albumgan.training import loop\nfrom albumgan.latent import PRIORS\n"
        "def late():\n    from albumgan import export\n    import bot.service\n"
    )
    found = {f.split(" imports ")[1] for f in violations("bot", tmp_path)}
    assert found == {"torch", "albumgan.training", "albumgan.export", "bot.service"}
    # export may use torch and training, but not the un-namespaced names
    assert {f.split(" imports ")[1] for f in violations("export", tmp_path)} == {"bot.service"}


def test_tests_and_benchmarks_share_only_the_fakes():
    """Benchmarks print figures and tests assert behaviour; what both need (fake servers,
    synthetic data) lives in fakes/, so neither imports the other."""
    crossings = []
    for folder, other in (("tests", "benchmarks"), ("benchmarks", "tests")):
        for path in sorted((REPO / folder).rglob("*.py")):
            crossings += [
                f"{path.relative_to(REPO)}:{line} imports {module}"
                for line, module in imports_of(path)
                if module.partition(".")[0] == other
            ]
    assert crossings == []
