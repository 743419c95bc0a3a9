"""Export real (tiny) generators from training checkpoints: graph contract, parity,
metadata round trip, fp16, atomic failure, CLI."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
import torch

from albumgan.bot.engine import Engine
from albumgan.export.cli import main as export_main
from albumgan.export.errors import ExportError
from albumgan.export.metadata import weights_sha256
from albumgan.export.onnx_export import export_checkpoint, fp16_path
from albumgan.export.parity import FP32_TOLERANCE, ParityError
from albumgan.labels import DEFAULT_SCHEMA
from albumgan.training.checkpoint import load_generator

from .conftest import RESOLUTION, Z_DIM, make_checkpoint


def torch_images(checkpoint, z, labels=None, mask=None, ema=True) -> np.ndarray:
    """The checkpoint's generator in torch, quantised the documented way."""
    generator, _ = load_generator(checkpoint, ema=ema)
    args = [torch.from_numpy(a) for a in (z, labels, mask) if a is not None]
    with torch.no_grad():
        x = generator(*args)
    return ((x + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()


def feature_rows(n: int, seed: int = 7):
    rng = np.random.default_rng(seed)
    rows = [
        {f.name: None if rng.random() < 0.3 else float(rng.uniform(f.low, f.high)) for f in DEFAULT_SCHEMA.features}
        for _ in range(n)
    ]
    return DEFAULT_SCHEMA.encode_rows(rows)


@pytest.mark.parametrize("kind", ["unconditional", "acgan"])
def test_graph_contract_dynamic_batch_and_uint8_image(exported, kind):
    _, result = exported[kind]
    model = onnx.load(result.path)
    onnx.checker.check_model(model, full_check=True)
    assert not any(t.data_location == onnx.TensorProto.EXTERNAL for t in model.graph.initializer)
    names = [i.name for i in model.graph.input]
    assert names == (["z", "labels", "mask"] if kind == "acgan" else ["z"])
    for value in [*model.graph.input, *model.graph.output]:
        assert value.type.tensor_type.shape.dim[0].dim_param, f"{value.name} batch axis is fixed"
    (image,) = model.graph.output
    assert image.name == "image" and image.type.tensor_type.elem_type == onnx.TensorProto.UINT8
    assert [d.dim_value for d in image.type.tensor_type.shape.dim[1:]] == [RESOLUTION, RESOLUTION, 3]
    ops = {node.op_type for node in model.graph.node}
    assert "Resize" not in ops and "DepthToSpace" in ops  # upsample + conv went out as sub-pixel convs


@pytest.mark.parametrize("kind", ["unconditional", "acgan"])
def test_onnx_matches_torch_at_several_batch_sizes(exported, kind):
    checkpoint, result = exported[kind]
    assert result.parity.max_abs_error <= FP32_TOLERANCE
    assert result.parity.max_level_diff <= 1
    engine = Engine.load(result.path)
    for batch in (1, 5):
        z = engine.info.latents(range(100, 100 + batch))
        labels, mask = feature_rows(batch) if kind == "acgan" else (None, None)
        got = engine.run(z, labels, mask)
        want = torch_images(checkpoint, z, labels, mask)
        assert got.shape == (batch, RESOLUTION, RESOLUTION, 3) and got.dtype == np.uint8
        assert np.abs(got.astype(int) - want.astype(int)).max() <= 1


@pytest.mark.parametrize("kind", ["unconditional", "acgan"])
def test_metadata_round_trip(exported, kind):
    checkpoint, result = exported[kind]
    ema, meta = load_generator(checkpoint, ema=True)
    raw, _ = load_generator(checkpoint, ema=False)
    info = Engine.load(result.path).info
    assert info == result.info
    assert (info.kind, info.step, info.resolution, info.z_dim) == (meta.kind, meta.step, meta.resolution, meta.z_dim)
    assert info.latent_prior == meta.latent_prior and info.created == meta.created
    assert info.schema == meta.schema
    assert (info.schema == DEFAULT_SCHEMA) if kind == "acgan" else info.schema is None
    assert info.dataset["content_hash"] == meta.dataset["content_hash"]
    assert info.dataset["count"] == meta.dataset["count"]
    assert info.dataset["provenance"] == meta.dataset["provenance"]
    assert ("label_note" in info.dataset) == (kind == "acgan")
    assert info.eval == {"fid": 123.4}
    assert info.name == kind and info.version.startswith(f"{meta.step}-")
    # The EMA weights were exported, not the raw generator's.
    assert info.sha256 == weights_sha256(ema) != weights_sha256(raw)


def test_fp16_variant_has_its_own_parity_and_metadata(tmp_path):
    checkpoint = make_checkpoint(tmp_path / "g.pt", "acgan", seed=3)
    fp32, fp16 = export_checkpoint(checkpoint, tmp_path / "m" / "cover.onnx", fp16=True)
    assert fp16.path == fp16_path(fp32.path) == tmp_path / "m" / "cover.fp16.onnx"
    assert fp16.parity.precision == "fp16" and fp16.parity.max_abs_error <= fp16.parity.tolerance
    props = {p.key: p.value for p in onnx.load(fp16.path).metadata_props}
    assert props["albumgan.precision"] == "fp16"
    assert fp16.info.sha256 == fp32.info.sha256 and fp16.info.name == fp32.info.name == "cover"
    engine = Engine.load(fp16.path)
    z = engine.info.latents([1, 2, 3])
    labels, mask = feature_rows(3)
    got = engine.run(z, labels, mask).astype(int)
    want = torch_images(checkpoint, z, labels, mask).astype(int)
    assert np.abs(got - want).max() <= fp16.parity.level_tolerance


def test_failed_export_changes_nothing_and_leaves_no_temp_files(tmp_path, exported):
    _, good = exported["unconditional"]
    models = tmp_path / "models"
    models.mkdir()
    target = models / "live.onnx"
    target.write_bytes(good.path.read_bytes())
    before = target.read_bytes()
    checkpoint = make_checkpoint(tmp_path / "g.pt", "unconditional", seed=5)
    # fp32 passes, fp16 cannot meet an absurd tolerance: the whole export is refused.
    with pytest.raises(ParityError, match="parity check failed"):
        export_checkpoint(checkpoint, target, fp16=True, fp16_tolerance=1e-9)
    assert target.read_bytes() == before
    assert sorted(p.name for p in models.iterdir()) == ["live.onnx"]


def test_unusable_checkpoints_are_refused_clearly(tmp_path):
    with pytest.raises(ExportError, match="does not exist"):
        export_checkpoint(tmp_path / "nope.pt", tmp_path / "m.onnx")
    broken = tmp_path / "broken.pt"
    broken.write_bytes(make_checkpoint(tmp_path / "ok.pt", "acgan").read_bytes()[:500])
    with pytest.raises(ExportError, match="unreadable"):
        export_checkpoint(broken, tmp_path / "m.onnx")
    with pytest.raises(ExportError, match=r"must end in \.onnx"):
        export_checkpoint(tmp_path / "ok.pt", tmp_path / "m.bin")
    assert not (tmp_path / "m.onnx").exists()


def test_cli_exports_with_eval_figures_and_reports_errors_in_one_line(tmp_path, capsys):
    checkpoint = make_checkpoint(tmp_path / "g.pt", "unconditional", seed=4)
    figures = tmp_path / "eval.json"
    figures.write_text(json.dumps({"kid": 0.05, "samples": 500}))
    out = tmp_path / "models" / "wgan.onnx"
    argv = [str(checkpoint), "-o", str(out), "--name", "wgan-test", "--eval-json", str(figures), "--no-subpixel"]
    assert export_main(argv) == 0
    printed = capsys.readouterr().out
    assert f"wrote {out}" in printed and "fp32 parity" in printed
    info = Engine.load(out).info
    assert info.name == "wgan-test" and info.eval == {"kid": 0.05, "samples": 500}
    assert info.z_dim == Z_DIM
    assert "Resize" in {node.op_type for node in onnx.load(out).graph.node}  # --no-subpixel kept upsample

    figures.write_text("[1, 2]")
    assert export_main([str(checkpoint), "-o", str(tmp_path / "x.onnx"), "--eval-json", str(figures)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "must hold a JSON object" in err
    assert not (tmp_path / "x.onnx").exists()
