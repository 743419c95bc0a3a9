"""The default models' dataset, built from ../shared/data exactly as docs/QUALITY.md says.

This is the local importer's real-world test: 1,523 real covers, a metadata table made by
the recipe, popularity that is each track's own and nine audio features that are weak,
genre-level labels and must say so.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

from albumgan.training.data.format import ShardedDataset

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = REPO.parent / "shared" / "data"


def load_script(monkeypatch):
    spec = importlib.util.spec_from_file_location("build_shared_covers", REPO / "scripts" / "build_shared_covers.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # its dataclasses look themselves up there
    spec.loader.exec_module(module)
    return module


def test_shared_covers_build_marks_weak_labels_and_records_no_temp_paths(tmp_path, monkeypatch):
    if not SHARED_DATA.is_dir():
        if os.environ.get("ALBUMGAN_REQUIRE_SHARED") == "1":  # CI (.ci/run) has ../shared beside the checkout
            pytest.fail(f"{SHARED_DATA} is missing, and ALBUMGAN_REQUIRE_SHARED=1 requires it")
        pytest.skip(f"{SHARED_DATA} is missing (a plain clone); set ALBUMGAN_REQUIRE_SHARED=1 to require it")
    out = tmp_path / "covers"
    assert load_script(monkeypatch).main(["--shared", str(SHARED_DATA), "--out", str(out), "--resolution", "32"]) == 0
    data = ShardedDataset(out, 32)

    assert len(data) == 1523
    assert data.batch(list(range(4))).shape == (4, 32, 32, 3)
    popularity = [it.feature_sources.get("popularity", "") for it in data.items]
    assert sum(bool(s) for s in popularity) >= 1500
    energy_sources = {it.feature_sources.get("energy", "") for it in data.items}
    assert {s for s in energy_sources if s} and all("genre-mean:" in s for s in energy_sources if s)
    assert "" in energy_sources  # playlists without a genre keep the feature missing

    provenance = data.manifest["provenance"]
    assert "NOT the tracks' own" in provenance["weak_labels"]
    assert "never distributed" in provenance["images"]
    assert str(tmp_path) not in str({k: v for k, v in provenance.items() if k != "build"})
    assert "/tmp" not in provenance["metadata"]
