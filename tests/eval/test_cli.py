"""albumgan-eval end to end on an exported ONNX model, and its one-line errors."""

from __future__ import annotations

import json

import pytest

from albumgan.training.eval_cli import main
from tests.eval.conftest import make_checkpoint, structured_covers, write_covers


@pytest.fixture(scope="module")
def acgan_onnx(tmp_path_factory):
    from albumgan.export.onnx_export import export_checkpoint

    root = tmp_path_factory.mktemp("acgan")
    return export_checkpoint(make_checkpoint(root / "acgan.pt", "acgan", seed=3), root / "acgan.onnx")[0].path


def test_cli_evaluates_an_onnx_acgan_and_writes_the_report(tmp_path, covers, cache_dir, acgan_onnx, capsys):
    out = tmp_path / "out"
    code = main(
        [
            str(acgan_onnx),
            "--data",
            str(covers),
            "--n",
            "16",
            "--out",
            str(out),
            "--cache-dir",
            str(cache_dir),
            "--kid-subsets",
            "5",
            "--sweep-rows",
            "1",
            "--no-progress",
        ]
    )
    printed = capsys.readouterr().out
    assert code == 0, printed
    report = json.loads((out / "eval.json").read_text())
    assert report["model"]["format"] == "onnx" and report["model"]["kind"] == "acgan"
    assert set(report) >= {"fid", "kid", "memorisation", "steering", "summary", "protocol", "images"}
    assert report["protocol"]["backend"] == "onnxruntime"
    assert len(report["steering"]["features"]) == 10 and set(report["steering"]["sweeps"]) == {
        "energy",
        "acousticness",
        "valence",
        "popularity",
    }
    summary = json.loads((out / "summary.json").read_text())
    assert summary == report["summary"] and summary["n"] == 16 and "fid" in summary and "steering_r" in summary
    for name in report["images"].values():
        assert (out / name).is_file()
    assert f"FID-16: {report['fid']['value']:.2f}" in printed
    assert "16px -> bilinear 299px" in printed and "covers-16" in printed


def _error(capsys, argv) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith("albumgan-eval: error: ")
    return err


def test_missing_and_corrupt_models_and_datasets_fail_in_one_line(tmp_path, covers, capsys):
    common = ["--no-progress", "--cache-dir", str(tmp_path / "cache")]
    assert "model" in _error(capsys, [str(tmp_path / "nope.pt"), "--data", str(covers), *common])
    assert "does not exist" in _error(capsys, [str(tmp_path / "nope.onnx"), "--data", str(covers), *common])
    bad_pt = tmp_path / "bad.pt"
    bad_pt.write_bytes(b"not a checkpoint")
    assert "unreadable" in _error(capsys, [str(bad_pt), "--data", str(covers), *common])
    bad_onnx = tmp_path / "bad.onnx"
    bad_onnx.write_bytes(b"\x08\x01garbage")
    assert "not a loadable ONNX model" in _error(capsys, [str(bad_onnx), "--data", str(covers), *common])

    model = make_checkpoint(tmp_path / "g.pt", "unconditional")
    assert "dataset directory" in _error(capsys, [str(model), "--data", str(tmp_path / "no-data"), *common])
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "manifest.json").write_text("{truncated")
    assert "not valid JSON" in _error(capsys, [str(model), "--data", str(broken), *common])
    other_size = write_covers(tmp_path / "covers-32", structured_covers(4, 32, seed=2))
    assert "has no 16px images" in _error(capsys, [str(model), "--data", str(other_size), *common])
    assert "steering needs a conditional" in _error(
        capsys, [str(model), "--data", str(covers), "--metrics", "fid,steering", *common]
    )
