"""Checkpoint folders after faults (issue #14), with tiny real runs: the temp files of writes
killed mid-save (517 MB after six `kill -9`) are removed when the run resumes or prunes; a
truncated latest checkpoint no longer stops `--resume`, which goes on from the one before and
says so; and a `latest` pointer naming a file outside its folder is not followed."""

from __future__ import annotations

import logging

import pytest

torch = pytest.importorskip("torch")

from albumgan.training import checkpoint as ckpt  # noqa: E402  (after the torch check)
from albumgan.training.cli import main as train_main  # noqa: E402
from fakes.synthetic_covers import make_dataset  # noqa: E402
from tests.training.conftest import TINY  # noqa: E402

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("data") / "synthetic", n=16, resolutions=(16,))


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(TINY.format(kind="unconditional", loss="wgan-gp", n_critic=1, logan="false", prior="uniform"))
    return path


def train(*args) -> int:
    return train_main([*map(str, args), "--progress", "off"])


def kill_9_leftovers(folder) -> list:
    """What a checkpoint write killed mid-save leaves: half a checkpoint in a temp file (and a
    pointer write's temp file), named the way albumgan.atomic names them."""
    leftovers = [folder / ".ckpt-000004.pt.tmp-k1ll3d.pt", folder / ".ckpt-000006.pt.tmp-a9b8c7.pt"]
    for path in leftovers:
        path.write_bytes(b"PK\x03\x04" + bytes(4096))
    leftovers.append(folder / ".latest.tmp-x1y2z3")
    leftovers[-1].write_text("ckpt-000004.pt\n")
    return leftovers


def test_resume_removes_what_killed_checkpoint_writes_left(tmp_path, dataset, config):
    run = tmp_path / "run"
    assert train("--config", config, "--data", dataset, "--out", run, "--steps", 2) == 0
    folder = run / "checkpoints"
    leftovers = kill_9_leftovers(folder)
    assert train("--resume", "--out", run, "--steps", 3) == 0
    assert not any(path.exists() for path in leftovers)
    assert sorted(p.name for p in folder.iterdir()) == ["ckpt-000002.pt", "ckpt-000003.pt", "latest"]


def test_pruning_removes_them_too(tmp_path, dataset, config):
    run = tmp_path / "run"
    assert train("--config", config, "--data", dataset, "--out", run, "--steps", 2) == 0
    folder = run / "checkpoints"
    leftovers = kill_9_leftovers(folder)
    ckpt.prune_checkpoints(folder, keep=2)  # what every save does after writing
    assert not any(path.exists() for path in leftovers) and (folder / "ckpt-000002.pt").is_file()


def test_resume_after_a_truncated_latest_goes_on_from_the_one_before(tmp_path, dataset, config, caplog):
    run = tmp_path / "run"
    assert train("--config", config, "--data", dataset, "--out", run, "--steps", 4) == 0
    folder = run / "checkpoints"
    latest = folder / "ckpt-000004.pt"
    assert ckpt.latest_checkpoint(folder) == latest
    latest.write_bytes(latest.read_bytes()[:1000])  # a full disk, or a filesystem that lost the tail
    with caplog.at_level(logging.INFO):
        assert train("--resume", "--out", run, "--steps", 6) == 0
    warning = next(r.getMessage() for r in caplog.records if "unreadable" in r.getMessage())
    assert f"checkpoint {latest} is unreadable" in warning and "using ckpt-000002.pt (step 2) instead" in warning
    assert f"resuming from {folder / 'ckpt-000002.pt'} (step 2)" in caplog.text
    assert ckpt.load_checkpoint(latest)["step"] == 4  # steps 3-4 trained again, and saved whole
    assert ckpt.load_checkpoint(ckpt.latest_checkpoint(folder))["step"] == 6


@pytest.mark.parametrize("outside", ["../../other/checkpoints/ckpt-000002.pt", "{other}/checkpoints/ckpt-000002.pt"])
def test_a_latest_pointer_outside_its_folder_is_not_followed(tmp_path, dataset, config, caplog, outside):
    other, run = tmp_path / "other", tmp_path / "run"
    assert train("--config", config, "--data", dataset, "--out", other, "--steps", 2) == 0
    assert train("--config", config, "--data", dataset, "--out", run, "--steps", 4) == 0
    pointer = run / "checkpoints" / ckpt.LATEST
    pointer.write_text(outside.format(other=other) + "\n")
    own_newest = run / "checkpoints" / "ckpt-000004.pt"
    with caplog.at_level(logging.WARNING):
        assert ckpt.latest_checkpoint(run / "checkpoints") == own_newest
        assert ckpt.resolve_checkpoint(run) == own_newest
        assert ckpt.load_latest(run / "checkpoints")[0] == own_newest
    assert "not a checkpoint file in its folder: ignored" in caplog.text
    assert train("--resume", "--out", run, "--steps", 5) == 0
    assert ckpt.load_checkpoint(run / "checkpoints" / "ckpt-000005.pt")["step"] == 5
    assert sorted(p.name for p in (other / "checkpoints").iterdir()) == ["ckpt-000002.pt", "latest"]
