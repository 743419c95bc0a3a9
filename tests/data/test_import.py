"""Local import from a folder plus a CSV/JSON table, through the CLI as a maintainer would."""

from __future__ import annotations

import json

import pytest

from albumgan.training.data.format import ShardedDataset
from albumgan.training.data.importer import ImportConfig, ImportInputError, import_images
from albumgan.training.data_cli import EXIT_BAD_INPUT, main
from tests.data.test_clean import encode
from fakes.spotify import render_cover


@pytest.fixture
def image_dir(tmp_path):
    folder = tmp_path / "images"
    (folder / "sub").mkdir(parents=True)
    ids = ["4iV5W9uYEdYUVa79Axb7Rh", "1301WleyT98MSxVHPZCA6M", "6rqhFgbbKwnb9MLmUQDhG6"]
    (folder / f"{ids[0]}.jpg").write_bytes(encode(render_cover(11, 120)))
    (folder / f"{ids[1]}.png").write_bytes(encode(render_cover(12, 100).convert("P"), "PNG"))
    (folder / "sub" / f"{ids[2]}.jpg").write_bytes(encode(render_cover(13, 160).crop((0, 0, 160, 120))))
    (folder / "notes.txt").write_text("not an image")
    return folder, ids


def test_import_folder_with_kaggle_style_csv_via_cli(image_dir, tmp_path, capsys):
    folder, ids = image_dir
    table = tmp_path / "tracks.csv"
    table.write_text(
        "track_id,track_name,artists,album_name,release_date,popularity,energy,tempo,energy_source\n"
        f"{ids[0]},Song A,Ann,Alpha,1999-05-01,70,0.9,128,essentia\n"
        f"{ids[1]},Song B,Bob,Beta,2004,20,,95,\n"
        "0000000000000000000000,Ghost,,,,1,0.1,100,\n"
    )
    out = tmp_path / "ds"
    assert main(["import", str(folder), "--metadata", str(table), "--out", str(out), "--resolution", "16", "--resolution", "32"]) == 0
    assert "3 items written" in capsys.readouterr().out
    data = ShardedDataset(out, 16)
    by_id = {it.id: it for it in data.items}
    a = by_id[ids[0]]
    assert (a.track_name, a.artists, a.album_name, a.release_year) == ("Song A", "Ann", "Alpha", 1999)
    assert a.features["energy"] == 0.9 and a.feature_sources["energy"] == "essentia"
    assert a.feature_sources["tempo"] == "metadata:tracks.csv"
    assert by_id[ids[1]].features["energy"] is None
    assert by_id[ids[2]].features["popularity"] is None  # an image with no row is kept, unlabelled
    assert data.manifest["provenance"]["import"] == {"rows": 3, "rows_without_image": 1, "images_without_row": 1}
    assert main(["stats", str(out)]) == 0
    stats = capsys.readouterr().out
    assert "items 3" in stats and "essentia 100%" in stats


def test_import_json_keyed_by_file_name_with_required_metadata(image_dir, tmp_path):
    folder, ids = image_dir
    table = tmp_path / "meta.json"
    table.write_text(json.dumps({"items": [{"file": f"sub/{ids[2]}.jpg", "name": "C", "valence": 0.25, "year": 2020}]}))
    path, report = import_images(ImportConfig(folder, tmp_path / "ds", metadata=table, require_metadata=True, source_name="lab"))
    data = ShardedDataset(path)
    assert len(data) == 1 and data.items[0].features["valence"] == 0.25 and data.items[0].feature_sources == {"valence": "lab"}
    assert data.items[0].release_year == 2020


def test_import_errors_are_one_clear_line(image_dir, tmp_path, caplog):
    folder, _ = image_dir
    table = tmp_path / "bad.csv"
    table.write_text("colour,energy\nred,0.5\n")
    with pytest.raises(ImportInputError, match="no image column"):
        import_images(ImportConfig(folder, tmp_path / "ds", metadata=table))
    assert main(["import", str(tmp_path / "nowhere"), "--out", str(tmp_path / "ds")]) == EXIT_BAD_INPUT
    assert "does not exist" in caplog.text
    assert main(["import", str(folder), "--out", str(tmp_path / "ds")]) == 0
    assert main(["import", str(folder), "--out", str(tmp_path / "ds")]) == EXIT_BAD_INPUT  # no silent overwrite
    assert "already exists" in caplog.text
