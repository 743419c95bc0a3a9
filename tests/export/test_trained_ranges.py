"""Each feature's trained range travels from the dataset to the model file: training records
it in the checkpoint, export writes it into the ONNX metadata, and a checkpoint from before
ranges were recorded gets them from its own dataset (`albumgan-export --data`), never from
another one."""

from __future__ import annotations

import pytest
import torch

from albumgan.bot.engine import Engine
from albumgan.export.cli import main as export_main
from albumgan.export.errors import ExportError
from albumgan.export.onnx_export import export_checkpoint
from albumgan.training.checkpoint import load_checkpoint, save_checkpoint
from albumgan.training.cli import main as train_main
from fakes.synthetic_covers import make_dataset

TINY = """
[model]
kind = "acgan"
resolution = 16
z_dim = 8
g_width = 8
d_width = 8

[loss]
kind = "hinge"
n_critic = 1

[train]
batch_size = 8
steps = 2
checkpoint_every = 2
sample_every = 100
log_every = 1
grid = 4

[runtime]
device = "cpu"
"""


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """(dataset, checkpoint) of a two-step acgan run on synthetic covers (valence and energy
    only; energy missing for about a quarter of them)."""
    torch.manual_seed(0)
    root = tmp_path_factory.mktemp("ranges")
    data = make_dataset(root / "data", n=24, resolutions=(16,))
    config = root / "tiny.toml"
    config.write_text(TINY)
    run = root / "run"
    assert train_main(["--config", str(config), "--data", str(data), "--out", str(run), "--progress", "off"]) == 0
    return data, run / "checkpoints" / "ckpt-000002.pt"


def dataset_ranges(data):
    from albumgan.training.data.format import ShardedDataset

    items = ShardedDataset(data, 16).items
    ranges = {}
    for name in ("valence", "energy"):
        present = [item.features[name] for item in items if item.features.get(name) is not None]
        ranges[name] = [min(present), max(present)]
    return ranges


def test_training_records_and_export_ships_the_datasets_ranges(tmp_path, trained):
    data, checkpoint = trained
    expected = dataset_ranges(data)
    assert load_checkpoint(checkpoint)["meta"]["dataset"]["label_ranges"] == expected
    [result] = export_checkpoint(checkpoint, tmp_path / "acgan.onnx")
    info = Engine.load(result.path).info
    assert info.dataset["label_ranges"] == expected
    assert {name: list(pair) for name, pair in info.trained_ranges.bounds.items()} == expected
    # what the bot feeds the model: a valence above anything trained is given the top one
    labels, _ = info.encode({"valence": 5.0, "energy": None})
    top, _ = info.schema.encode({"valence": expected["valence"][1]})
    valence = info.schema.names.index("valence")
    assert labels[valence] == pytest.approx(top[valence])


def test_an_older_checkpoint_gets_its_ranges_from_its_own_dataset_only(tmp_path, trained, caplog):
    data, checkpoint = trained
    payload = load_checkpoint(checkpoint)
    del payload["meta"]["dataset"]["label_ranges"]
    older = save_checkpoint(tmp_path / "older.pt", payload)

    [plain] = export_checkpoint(older, tmp_path / "plain.onnx")
    assert Engine.load(plain.path).info.trained_ranges.bounds == {}
    assert "records no trained feature ranges" in caplog.text and "--data" in caplog.text

    assert export_main([str(older), "-o", str(tmp_path / "fixed.onnx"), "--data", str(data)]) == 0
    fixed = Engine.load(tmp_path / "fixed.onnx").info
    assert fixed.dataset["label_ranges"] == dataset_ranges(data)

    other = make_dataset(tmp_path / "other", n=12, resolutions=(16,), seed=5)
    with pytest.raises(ExportError, match=r"is not the dataset .* was trained on"):
        export_checkpoint(older, tmp_path / "wrong.onnx", dataset=other)
    assert not (tmp_path / "wrong.onnx").exists()
