"""Tables people bring (issue #14): a ragged CSV row (an unquoted comma shifts every cell after
it) and values such as `inf`, `nan` or `1e308` used to be kept silently, in the bot's local
feature table and in `albumgan-data import --metadata`. Now each is dropped with a warning
naming the file and line (or item), and nothing shifted or infinite reaches a cover or a label."""

from __future__ import annotations

import json
import logging

import pytest

from albumgan.training.data.format import ShardedDataset
from albumgan.training.data.importer import ImportConfig, import_images
from fakes.spotify import render_cover
from tests.faults.programs import bot_toml, run

pytestmark = pytest.mark.timeout(180)

IDS = ["0BadTable00000000000a1", "0BadTable00000000000a2", "0BadTable00000000000a3", "0BadTable00000000000a4"]


@pytest.fixture
def table(tmp_path):
    path = tmp_path / "tracks.csv"
    path.write_text(
        "track_id,name,artists,popularity,energy,tempo,loudness,valence\n"
        f"{IDS[0]},Fine,Ann,50,0.5,120,-6,0.4\n"  # line 2
        f"{IDS[1]},Infinite,Bob,inf,nan,1e308,-6.5,0.3\n"  # line 3: three values dropped, the rest kept
        f"{IDS[2]},Hello, World,Cy,10,0.5,120,-6,0.4\n"  # line 4: an unquoted comma, 9 cells
        f"{IDS[3]},Short,Di,10\n",  # line 5: 4 cells
        encoding="utf-8",
    )
    return path


def assert_reported(text: str, table, *problems: str) -> None:
    for problem in problems:
        assert f"{table}:{problem}" in text, f"no warning '{table}:{problem}' in:\n{text}"


def test_import_drops_ragged_rows_and_impossible_values_with_warnings(tmp_path, table):
    images = tmp_path / "images"
    images.mkdir()
    for seed, track in enumerate(IDS):
        render_cover(seed, 64).save(images / f"{track}.png")
    out = tmp_path / "ds"
    proc = run("training.data_cli", "import", images, "--metadata", table, "--out", out, "--resolution", "16")
    assert proc.returncode == 0, proc.stderr
    assert_reported(
        proc.stderr,
        table,
        "3: popularity 'inf' is far outside its range 0 to 100: value dropped",
        "3: energy 'nan' is far outside",
        "3: tempo '1e308' is far outside",
        "4: 9 cells where the header has 8: row dropped",
        "5: 4 cells where the header has 8: row dropped",
    )
    items = {item.id: item for item in ShardedDataset(out, 16).items}
    assert items[IDS[0]].features["tempo"] == 120
    infinite = items[IDS[1]].features
    assert (infinite["popularity"], infinite["energy"], infinite["tempo"]) == (None, None, None)
    assert (infinite["loudness"], infinite["valence"]) == (-6.5, 0.3)
    for ragged in IDS[2:]:  # their images are kept, unlabelled: no shifted value became a label
        assert set(items[ragged].features.values()) == {None} and items[ragged].track_name == ""


def test_import_json_drops_non_finite_values_naming_the_item(tmp_path, caplog):
    images = tmp_path / "images"
    images.mkdir()
    render_cover(1, 64).save(images / "a.png")
    table = tmp_path / "meta.json"
    rows = [{"file": "a.png", "tempo": 120, "energy": 0.5, "valence": None}, {"file": "a.png", "valence": 0.2}]
    text = json.dumps(rows).replace('"tempo": 120', '"tempo": Infinity').replace('"energy": 0.5', '"energy": 1e400')
    table.write_text(text.replace('"valence": 0.2', '"valence": NaN'), encoding="utf-8")  # JSON5-ish, as Python writes
    with caplog.at_level(logging.WARNING):
        path, _ = import_images(ImportConfig(images, tmp_path / "ds", metadata=table))
    assert f"{table} item 1: tempo inf is far outside" in caplog.text
    assert f"{table} item 1: energy inf is far outside" in caplog.text
    assert f"{table} item 2: valence nan is far outside" in caplog.text
    for item in ShardedDataset(path).items:
        assert set(item.features.values()) == {None}


def test_the_bot_masks_impossible_local_values_and_skips_ragged_rows(tmp_path, tiny_models, table):
    config = bot_toml(tmp_path, tiny_models, local_table=table)
    proc = run("bot.cli", "-v", "--config", config, "cover", f"spotify:track:{IDS[1]}", "-o", tmp_path / "c.png")
    assert proc.returncode == 0, proc.stderr
    assert_reported(proc.stderr, table, "3: popularity 'inf' is far outside", "4: 9 cells", "5: 4 cells")
    assert proc.stderr.count(f"{table}:4:") == 1  # the catalogue and the features read it: one warning
    shown = {line.split()[0]: line.split()[1] for line in proc.stdout.splitlines()[1:] if line.startswith("  ")}
    assert (shown["popularity"], shown["energy"], shown["tempo"]) == ("unknown", "unknown", "unknown")
    assert shown["valence"] == "0.30"
    for ragged in IDS[2:]:  # not a local track any more; and without Spotify it cannot be looked up
        proc = run("bot.cli", "--config", config, "cover", f"spotify:track:{ragged}", "-o", tmp_path / "r.png")
        assert proc.returncode == 3 and "can't look up Spotify tracks here" in proc.stderr, proc.stderr
