import numpy as np
import pytest

from albumgan.training.data.format import DatasetError, Item, ShardedDataset, write_dataset
from albumgan.training.data.split import split_dataset
from albumgan.training.data_cli import main


def _dataset(path, n=12):
    items = [Item(id=f"t{i}", features={"valence": i / n}) for i in range(n)]
    images = {
        8: (np.full((8, 8, 3), i, np.uint8) for i in range(n)),
        16: (np.full((16, 16, 3), 100 + i, np.uint8) for i in range(n)),
    }
    return write_dataset(path, items, images, shard_size=5)


def test_split_is_disjoint_complete_and_keeps_every_resolution(tmp_path, capsys):
    src = _dataset(tmp_path / "all")
    code = main(["split", str(src), "--holdout", "3", "--train-out", str(tmp_path / "train"),
                 "--holdout-out", str(tmp_path / "held"), "--seed", "1"])
    assert code == 0
    train, held = ShardedDataset(tmp_path / "train", 8), ShardedDataset(tmp_path / "held", 16)
    train_ids, held_ids = {it.id for it in train.items}, {it.id for it in held.items}
    assert len(held_ids) == 3 and not train_ids & held_ids
    assert train_ids | held_ids == {f"t{i}" for i in range(12)}
    # Images stay with their items at every resolution.
    for ds, offset in ((train, 0), (ShardedDataset(tmp_path / "held", 8), 0), (held, 100)):
        for i, item in enumerate(ds.items):
            assert ds.image(i)[0, 0, 0] == offset + int(item.id[1:])
    assert held.manifest["provenance"]["split"]["part"] == "holdout"


def test_split_rejects_a_holdout_as_large_as_the_dataset(tmp_path):
    src = _dataset(tmp_path / "all", n=4)
    with pytest.raises(DatasetError, match="between 1 and 3"):
        split_dataset(src, 4, tmp_path / "a", tmp_path / "b")
