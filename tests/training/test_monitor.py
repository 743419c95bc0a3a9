"""What a person watches: the progress bar's total and TensorBoard's event files."""

import sys

import pytest

from albumgan.training import loop
from albumgan.training.cli import main
from albumgan.training.monitor import ProgressBar, expected_seconds


def train(*args) -> int:
    return main([*map(str, args), "--progress", "off"])


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def timed_bar(clock: FakeClock, steps: int, step: int = 0) -> ProgressBar:
    return ProgressBar(step=step, steps=steps, images=0, images_per_step=32, limit_s=60.0, enabled=False, clock=clock)


def test_with_a_time_limit_the_bar_counts_seconds_to_the_limit():
    clock = FakeClock()
    bar = timed_bar(clock, steps=100_000)  # the recipe's steps would take days: the minute ends first
    assert (bar.unit, bar.total) == ("s", 60.0)
    clock.now += 6
    bar.advance(step=10, images=320)
    assert (bar.total, bar.n) == (60.0, 6.0)


def test_with_a_time_limit_the_bar_ends_with_the_steps_when_they_come_first():
    clock = FakeClock()
    bar = timed_bar(clock, steps=40, step=20)  # resumed at step 20
    clock.now += 5
    bar.advance(step=30, images=0)  # 10 steps in 5 s: the last 10 take 5 s more
    assert bar.total == 10.0 and bar.n == 5.0
    assert expected_seconds(60.0, 5.0, 0, 40) == 60.0  # no pace yet: the limit


def test_without_a_time_limit_the_bar_counts_images_to_the_step_target():
    bar = ProgressBar(step=3, steps=10, images=96, images_per_step=32, limit_s=0.0, enabled=False)
    assert (bar.unit, bar.total, bar.n) == ("img", 320.0, 96)
    bar.advance(step=4, images=128)
    assert bar.n == 128


def test_the_training_bar_is_sized_from_minutes(tmp_path, synthetic_dataset, tiny_config, monkeypatch):
    totals = []

    class Recording(ProgressBar):
        def __init__(self, **kwargs) -> None:
            super().__init__(**kwargs)
            totals.append((self.unit, self.total))

    monkeypatch.setattr(loop, "ProgressBar", Recording)
    args = ("--config", tiny_config(), "--data", synthetic_dataset, "--set", "train.steps=100000")
    assert train(*args, "--out", tmp_path / "timed", "--minutes", 0.02) == 0  # stops after about a second
    assert totals == [("s", 1.2)]


def test_tensorboard_event_files_hold_the_scalars_and_sample_grids(tmp_path, synthetic_dataset, tiny_config):
    pytest.importorskip("tensorboard", reason="tensorboard is not installed (pip install tensorboard)")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run = tmp_path / "run"
    assert (
        train("--config", tiny_config(), "--data", synthetic_dataset, "--out", run, "--set", "train.tensorboard=on")
        == 0
    )
    assert list((run / "tensorboard").glob("events.out.tfevents.*"))
    events = EventAccumulator(str(run / "tensorboard"))
    events.Reload()
    assert {"D/adv", "G/adv", "images_per_s"} <= set(events.Tags()["scalars"])
    assert [e.step for e in events.Scalars("G/adv")] == [1, 2, 3, 4]  # log_every = 1
    assert {"samples", "reals"} <= set(events.Tags()["images"])
    assert [e.step for e in events.Images("samples")] == [0, 2, 4]  # sample_every = 2


def test_tensorboard_forced_on_without_the_package_is_a_one_line_error(
    tmp_path, synthetic_dataset, tiny_config, monkeypatch, capsys
):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # import fails as if not installed
    args = ("--config", tiny_config(), "--data", synthetic_dataset, "--out", tmp_path / "run")
    assert train(*args, "--set", "train.tensorboard=on") == 2
    error = capsys.readouterr().err.strip()
    assert "\n" not in error and 'train.tensorboard = "on" needs the tensorboard package' in error
    assert train(*args) == 0  # "auto": trains without it
    assert not (tmp_path / "run" / "tensorboard").exists()


def test_tensorboard_off_writes_no_event_files(tmp_path, synthetic_dataset, tiny_config, capsys):
    run = tmp_path / "run"
    assert (
        train("--config", tiny_config(), "--data", synthetic_dataset, "--out", run, "--set", "train.tensorboard=off")
        == 0
    )
    assert not (run / "tensorboard").exists()
    assert (
        train(
            "--config",
            tiny_config(),
            "--data",
            synthetic_dataset,
            "--out",
            tmp_path / "x",
            "--set",
            "train.tensorboard=yes",
        )
        == 2
    )
    assert "train.tensorboard must be one of" in capsys.readouterr().err
