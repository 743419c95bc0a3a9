import json

import pytest
import torch

from albumgan.labels import DEFAULT_SCHEMA
from albumgan.training import checkpoint as ckpt
from albumgan.training.architectures import network_state
from albumgan.training.networks import Critic, Generator


def make_payload(step=7, c_dim=10):
    g = Generator(z_dim=16, resolution=16, width=8, c_dim=c_dim)
    ema = Generator(z_dim=16, resolution=16, width=8, c_dim=c_dim)
    d = Critic(resolution=16, width=8, c_dim=c_dim)
    return (
        g,
        ema,
        {
            "format": ckpt.FORMAT,
            "version": ckpt.VERSION,
            "kind": "acgan" if c_dim else "unconditional",
            "step": step,
            "generator": network_state(g),
            "generator_ema": network_state(ema),
            "critic": network_state(d),
            "meta": {
                "latent_prior": "uniform",
                "label_schema": DEFAULT_SCHEMA.to_dict() if c_dim else None,
                "dataset": {"content_hash": "abc", "count": 3, "provenance": {"source": "test"}},
                "config": {"model": {"width": 8}},
                "created": "2026-11-25T00:00:00+00:00",
            },
        },
    )


def test_load_generator_returns_ema_in_eval_mode_with_meta(tmp_path):
    g, ema, payload = make_payload()
    path = ckpt.save_checkpoint(tmp_path / "ckpt-000007.pt", payload)
    loaded, meta = ckpt.load_generator(path)
    assert not loaded.training
    z = torch.randn(2, 16)
    labels, mask = torch.zeros(2, 10), torch.ones(2, 10)
    assert torch.equal(loaded(z, labels, mask), ema.eval()(z, labels, mask))
    raw, _ = ckpt.load_generator(path, ema=False)
    assert torch.equal(raw(z, labels, mask), g.eval()(z, labels, mask))
    assert meta.kind == "acgan" and meta.step == 7 and len(meta.schema) == 10
    assert (meta.resolution, meta.z_dim, meta.training["arch"], meta.training["kwargs"]["width"]) == (
        16,
        16,
        "dcgan",
        8,
    )
    assert meta.latent_prior == "uniform" and meta.schema == DEFAULT_SCHEMA
    assert meta.dataset["content_hash"] == "abc" and meta.created.startswith("2026")
    json.dumps(meta.training["config"])


def test_missing_and_corrupt_checkpoints_raise_checkpoint_error(tmp_path):
    with pytest.raises(ckpt.CheckpointError, match="does not exist"):
        ckpt.load_checkpoint(tmp_path / "nope.pt")
    _, _, payload = make_payload()
    path = ckpt.save_checkpoint(tmp_path / "ckpt-000001.pt", payload)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ckpt.CheckpointError, match="unreadable"):
        ckpt.load_generator(path)
    torch.save({"hello": 1}, tmp_path / "other.pt")
    with pytest.raises(ckpt.CheckpointError, match="not an albumgan checkpoint"):
        ckpt.load_checkpoint(tmp_path / "other.pt")


def test_failed_write_leaves_previous_checkpoint(tmp_path, monkeypatch):
    _, _, payload = make_payload(step=1)
    first = ckpt.save_checkpoint(tmp_path / "ckpt-000001.pt", payload)
    ckpt.write_latest(tmp_path, first.name)

    real_save = torch.save

    def dying_save(obj, f, *args, **kwargs):
        real_save({"partial": torch.zeros(1000)}, f)  # some bytes reach the temp file
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", dying_save)
    with pytest.raises(OSError, match="disk full"):
        ckpt.save_checkpoint(tmp_path / "ckpt-000001.pt", make_payload(step=2)[2])
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt-000001.pt", "latest"]
    assert ckpt.load_checkpoint(ckpt.latest_checkpoint(tmp_path))["step"] == 1


def test_latest_pointer_and_pruning(tmp_path):
    for step in (100, 200, 300):
        path = ckpt.save_checkpoint(tmp_path / ckpt.checkpoint_name(step), make_payload(step)[2])
        ckpt.write_latest(tmp_path, path.name)
    (tmp_path / ".ckpt-000400.pt.tmp-x").write_bytes(b"half a file")  # a killed writer's leftover
    assert ckpt.latest_checkpoint(tmp_path).name == "ckpt-000300.pt"
    ckpt.prune_checkpoints(tmp_path, keep=2)
    assert [p.name for p in ckpt.list_checkpoints(tmp_path)] == ["ckpt-000200.pt", "ckpt-000300.pt"]
    (tmp_path / "latest").unlink()
    (tmp_path / "ckpt-000300.pt").write_bytes(b"truncated")
    assert ckpt.latest_checkpoint(tmp_path).name == "ckpt-000200.pt"


def test_a_run_directory_or_its_latest_pointer_names_the_newest_checkpoint(tmp_path):
    folder = tmp_path / "run" / "checkpoints"
    for step in (100, 200):
        ckpt.save_checkpoint(folder / ckpt.checkpoint_name(step), make_payload(step=step)[2])
    ckpt.write_latest(folder, ckpt.checkpoint_name(200))
    for name in (tmp_path / "run", folder, folder / "latest", folder / ckpt.checkpoint_name(200)):
        assert ckpt.load_generator(name)[1].step == 200
    (tmp_path / "empty").mkdir()
    with pytest.raises(ckpt.CheckpointError, match="holds no checkpoint"):
        ckpt.load_generator(tmp_path / "empty")
