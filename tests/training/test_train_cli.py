import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from albumgan.training import checkpoint as ckpt
from albumgan.training.cli import main
from fakes.synthetic_covers import make_dataset

REPO = Path(__file__).resolve().parents[2]


def train(*args) -> int:
    return main([*map(str, args), "--progress", "off"])


def stats_lines(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "stats.jsonl").read_text().splitlines()]


def test_end_to_end_run_directory(tmp_path, synthetic_dataset, tiny_config):
    run = tmp_path / "run"
    assert train("--config", tiny_config(kind="acgan"), "--data", synthetic_dataset, "--out", run) == 0
    resolved = json.loads((run / "config.json").read_text())
    assert resolved["config"]["model"]["kind"] == "acgan" and resolved["data"] == str(synthetic_dataset)
    names = sorted(p.name for p in (run / "checkpoints").iterdir())
    assert names == ["ckpt-000002.pt", "ckpt-000004.pt", "latest"]
    assert (run / "checkpoints" / "latest").read_text().strip() == "ckpt-000004.pt"
    samples = sorted(p.name for p in (run / "samples").iterdir())
    assert samples == ["fakes000000.png", "fakes000002.png", "fakes000004.png", "reals.png"]
    with Image.open(run / "samples" / "fakes000004.png") as grid:
        assert grid.size == (32, 32)  # 4 images, 2x2
    lines = stats_lines(run)
    assert [line["step"] for line in lines] == [1, 2, 3, 4]
    assert lines[-1]["images"] == 4 * 2 * 8 and {"D/adv", "D/gp", "D/aux", "G/aux", "G/dz"} <= set(lines[-1])
    G, meta = ckpt.load_generator(run / "checkpoints" / "ckpt-000004.pt")
    assert meta.kind == "acgan" and meta.step == 4 and len(meta.schema) == 10 and meta.latent_prior == "uniform"
    assert meta.dataset["count"] == 48 and meta.schema is not None
    images = G(torch.rand(3, 8) * 2 - 1, torch.zeros(3, 10), torch.ones(3, 10))
    assert images.shape == (3, 3, 16, 16)


def test_checkpoints_are_pruned_to_keep_the_newest(tmp_path, synthetic_dataset, tiny_config):
    run = tmp_path / "run"
    assert train("--config", tiny_config(), "--data", synthetic_dataset, "--out", run, "--steps", 8) == 0
    assert [p.name for p in ckpt.list_checkpoints(run / "checkpoints")] == ["ckpt-000006.pt", "ckpt-000008.pt"]


def assert_same_training_state(a: dict, b: dict):
    for net in ("generator", "generator_ema", "critic"):
        for key, value in a[net]["state"].items():
            assert torch.equal(value, b[net]["state"][key]), f"{net}.{key} differs"
    for opt in ("opt_G", "opt_D"):
        for index, state in a["training"][opt]["state"].items():
            for key, value in state.items():
                assert torch.equal(torch.as_tensor(value), torch.as_tensor(b["training"][opt]["state"][index][key]))
    assert a["training"]["data"] == b["training"]["data"]
    assert torch.equal(a["training"]["rng"][0]["torch"], b["training"]["rng"][0]["torch"])


def test_resume_reproduces_the_uninterrupted_run(tmp_path, synthetic_dataset, tiny_config):
    config = tiny_config(kind="acgan", loss="wgan-gp", logan=True)
    straight, stopped = tmp_path / "straight", tmp_path / "stopped"
    assert train("--config", config, "--data", synthetic_dataset, "--out", straight, "--steps", 3) == 0
    assert train("--config", config, "--data", synthetic_dataset, "--out", stopped, "--steps", 2) == 0
    assert train("--resume", "--out", stopped, "--steps", 3) == 0  # data comes from the run
    a = ckpt.load_checkpoint(straight / "checkpoints" / "ckpt-000003.pt")
    b = ckpt.load_checkpoint(stopped / "checkpoints" / "ckpt-000003.pt")
    assert a["step"] == b["step"] == 3 and a["training"]["images"] == b["training"]["images"]
    assert_same_training_state(a, b)
    assert stats_lines(straight)[-1] == {
        **stats_lines(stopped)[-1],
        "seconds": stats_lines(straight)[-1]["seconds"],
        "images_per_s": stats_lines(straight)[-1]["images_per_s"],
    }


def test_crash_mid_checkpoint_keeps_the_previous_one(tmp_path, synthetic_dataset, tiny_config, monkeypatch):
    run = tmp_path / "run"
    real_save = torch.save
    calls = []

    def save_then_die(obj, f, *args, **kwargs):
        calls.append(obj["step"])
        if obj["step"] == 4:
            f.write(b"PK\x03\x04 half a checkpoint")
            raise OSError("No space left on device")
        return real_save(obj, f, *args, **kwargs)

    monkeypatch.setattr(torch, "save", save_then_die)
    with pytest.raises(OSError, match="No space left"):
        train("--config", tiny_config(), "--data", synthetic_dataset, "--out", run)
    monkeypatch.undo()
    assert calls == [2, 4]
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["ckpt-000002.pt", "latest"]
    assert ckpt.load_checkpoint(ckpt.latest_checkpoint(run / "checkpoints"))["step"] == 2
    assert train("--resume", "--out", run) == 0
    assert ckpt.load_checkpoint(run / "checkpoints" / "ckpt-000004.pt")["step"] == 4
    assert [line["step"] for line in stats_lines(run)] == [1, 2, 3, 4]  # step 3-4 logged once


def test_fine_tune_starts_fresh_from_the_weights(tmp_path, synthetic_dataset, tiny_config):
    base, tuned = tmp_path / "base", tmp_path / "tuned"
    assert train("--config", tiny_config(), "--data", synthetic_dataset, "--out", base) == 0
    style = make_dataset(tmp_path / "style", n=16, resolutions=(16,), seed=9)
    source = base / "checkpoints" / "ckpt-000004.pt"
    # The model's shape and prior come from the checkpoint, whatever the config says.
    other = tiny_config(prior="normal", name="other.toml")
    assert (
        train(
            "--config",
            other,
            "--data",
            style,
            "--out",
            tuned,
            "--fine-tune",
            source,
            "--steps",
            1,
            "--set",
            "model.g_width=16",
        )
        == 0
    )
    a, b = ckpt.load_checkpoint(source), ckpt.load_checkpoint(tuned / "checkpoints" / "ckpt-000001.pt")
    assert b["step"] == 1 and b["meta"]["dataset"]["count"] == 16
    assert b["meta"]["latent_prior"] == "uniform" and b["meta"]["config"]["model"]["g_width"] == 8
    assert all(s["step"] == 1 for s in b["training"]["opt_G"]["state"].values())  # fresh optimiser
    for key, value in a["generator"]["state"].items():
        delta = (value - b["generator"]["state"][key]).abs().max().item()
        assert 0 < delta < 0.01, key  # one small step away from the source weights
    with pytest.raises(AssertionError):
        assert_same_training_state(a, b)


def test_fine_tune_continues_the_starting_models_average(tmp_path, synthetic_dataset, tiny_config):
    base, tuned = tmp_path / "base", tmp_path / "tuned"
    assert train("--config", tiny_config(), "--data", synthetic_dataset, "--out", base) == 0
    source = base / "checkpoints" / "ckpt-000004.pt"
    args = ("--data", synthetic_dataset, "--out", tuned, "--fine-tune", source, "--steps", 1)
    assert train("--config", tiny_config(), *args, "--set", "train.ema=0.9") == 0
    a, b = ckpt.load_checkpoint(source), ckpt.load_checkpoint(tuned / "checkpoints" / "ckpt-000001.pt")
    # The EMA's warm-up counts the source's 4 steps: decay (1 + 4) / (10 + 4), not a restart's 1 / 10.
    decay = 5 / 14
    buffers = ("running_mean", "running_var", "num_batches_tracked")  # copied from G, not averaged
    weights = [key for key in a["generator_ema"]["state"] if not key.endswith(buffers)]
    assert weights
    for key in weights:
        expected = torch.lerp(a["generator_ema"]["state"][key], b["generator"]["state"][key], 1 - decay)
        assert torch.allclose(b["generator_ema"]["state"][key], expected, atol=1e-6), key


def test_learning_rates_warm_up_and_follow_the_config_on_resume(tmp_path, synthetic_dataset, tiny_config):
    run = tmp_path / "run"
    warm_up = ("--set", "optim.warmup_steps=10")
    assert train("--config", tiny_config(), "--data", synthetic_dataset, "--out", run, "--steps", 2, *warm_up) == 0
    state = ckpt.load_checkpoint(run / "checkpoints" / "ckpt-000002.pt")["training"]
    # The second step ran at 2/10 of the configured 2e-4.
    assert [g["lr"] for opt in ("opt_G", "opt_D") for g in state[opt]["param_groups"]] == pytest.approx([4e-5, 4e-5])
    resumed = ("--resume", "--out", run, "--steps", 3, "--set", "optim.warmup_steps=0", "--set", "optim.g_lr=1e-4")
    assert train(*resumed) == 0
    state = ckpt.load_checkpoint(run / "checkpoints" / "ckpt-000003.pt")["training"]
    assert state["opt_G"]["param_groups"][0]["lr"] == pytest.approx(1e-4)  # the --set rate, not the checkpoint's
    assert state["opt_D"]["param_groups"][0]["lr"] == pytest.approx(2e-4)


def test_fine_tune_refuses_a_different_model_kind(tmp_path, synthetic_dataset, tiny_config, capsys):
    base = tmp_path / "base"
    assert train("--config", tiny_config(), "--data", synthetic_dataset, "--out", base, "--steps", 2) == 0
    code = train(
        "--config",
        tiny_config(kind="acgan", name="acgan.toml"),
        "--data",
        synthetic_dataset,
        "--out",
        tmp_path / "x",
        "--fine-tune",
        base / "checkpoints" / "ckpt-000002.pt",
    )
    assert code == 2 and "is a unconditional model" in capsys.readouterr().err


def test_wall_clock_limit_stops_and_saves(tmp_path, synthetic_dataset, tiny_config):
    run = tmp_path / "run"
    assert (
        train("--config", tiny_config(), "--data", synthetic_dataset, "--out", run, "--steps", 1000, "--minutes", 1e-6)
        == 0
    )
    assert ckpt.load_checkpoint(ckpt.latest_checkpoint(run / "checkpoints"))["step"] == 1


@pytest.mark.parametrize(
    "args, message",
    [
        (["--set", "loss.kindx=1"], "unknown key 'kindx' in [loss]"),
        (["--set", "train.steps='many'"], "train.steps must be a whole number, got str 'many'"),
        (["--set", "loss.kind='lsgan'"], "loss.kind must be one of"),
        (["--set", "model.resolution=48"], "model.resolution: resolution must be a power of two"),
        (["--set", "optim.warmup_steps=-5"], "optim.warmup_steps must be >= 0"),
        (["--set", "extra.key=1"], "unknown key 'extra' in top level"),
        (["--data", "/nonexistent/covers"], "dataset directory /nonexistent/covers does not exist"),
        (["--set", "model.resolution=128"], "has no 128px images"),
        (["--resume"], "--resume takes the config from the run's checkpoint"),
    ],
)
def test_bad_input_gives_one_line_error(tmp_path, synthetic_dataset, tiny_config, capsys, args, message):
    base = ["--config", tiny_config(), "--out", tmp_path / "run"]
    if "--data" not in args:
        base += ["--data", synthetic_dataset]
    assert train(*base, *args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("albumgan-train: error: ") and message in err


def test_bad_toml_and_existing_run(tmp_path, synthetic_dataset, tiny_config, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("[train]\nbatch_size = 8\nbatch_size = 9\n")
    assert train("--config", bad, "--data", synthetic_dataset, "--out", tmp_path / "r") == 2
    assert "is not valid TOML" in capsys.readouterr().err
    run = tmp_path / "run"
    assert train("--config", tiny_config(), "--data", synthetic_dataset, "--out", run, "--steps", 2) == 0
    assert train("--config", tiny_config(), "--data", synthetic_dataset, "--out", run) == 2
    assert "already holds a run; pass --resume" in capsys.readouterr().err


def test_shipped_recipes_load(capsys):
    for recipe in (
        "unconditional-64",
        "acgan-64",
        "hinge-64",
        "nsgan-r1-64",
        "wgan-clip-64",
        "unconditional-128",
        "smoke",
    ):
        assert main(["--config", recipe, "--data", str(REPO), "--out", "/tmp/unused", "--dry-run"]) == 0
        resolved = json.loads(capsys.readouterr().out)
        assert resolved["model"]["resolution"] in (32, 64, 128)


def wait_for(predicate, proc, what):
    """Wait for a file-system condition while the process runs (no fixed sleeps)."""
    import time

    deadline = time.monotonic() + 120
    while not predicate():
        if proc.poll() is not None:
            raise AssertionError(f"process exited ({proc.returncode}) before {what}: {proc.stderr.read()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_ctrl_c_saves_a_checkpoint_and_exits_cleanly(tmp_path, synthetic_dataset, tiny_config):
    run = tmp_path / "run"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "albumgan.training",
            "--config",
            str(tiny_config()),
            "--data",
            str(synthetic_dataset),
            "--out",
            str(run),
            "--steps",
            "100000",
            "--set",
            "train.checkpoint_every=100000",
            "--progress",
            "off",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(
            lambda: (run / "stats.jsonl").is_file() and (run / "stats.jsonl").stat().st_size > 0, proc, "the first step"
        )
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "interrupted at step" in err
    latest = ckpt.load_checkpoint(ckpt.latest_checkpoint(run / "checkpoints"))
    assert latest["step"] >= 1 and latest["step"] == stats_lines(run)[-1]["step"]


def test_torchrun_two_processes_with_gloo(tmp_path, synthetic_dataset, tiny_config):
    run = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node",
            "2",
            "-m",
            "albumgan.training",
            "--config",
            str(tiny_config(kind="acgan")),
            "--data",
            str(synthetic_dataset),
            "--out",
            str(run),
            "--steps",
            "2",
            "--progress",
            "off",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads((run / "config.json").read_text())["world_size"] == 2
    payload = ckpt.load_checkpoint(run / "checkpoints" / "ckpt-000002.pt")
    assert len(payload["training"]["rng"]) == 2  # each rank's noise stream is saved
    assert not torch.equal(payload["training"]["rng"][0]["torch"], payload["training"]["rng"][1]["torch"])
    assert payload["training"]["images"] == 2 * 2 * 8
    assert np.isfinite(stats_lines(run)[-1]["D/adv"])
