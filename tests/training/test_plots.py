"""albumgan-plot: loss curves and the sample timeline of a run, as readable PNGs."""

import json

import numpy as np
import pytest
from PIL import Image

from albumgan.training.cli import main as train_main
from albumgan.training.plot_cli import main
from albumgan.training.plots import MIN_CELL, TIMELINE_CELLS, nice_ticks


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, synthetic_dataset):
    """A finished 4-step run: stats at every step, sample grids at steps 0, 2 and 4."""
    folder = tmp_path_factory.mktemp("plots")
    config = folder / "tiny.toml"
    config.write_text(
        '[model]\nkind = "acgan"\nresolution = 16\nz_dim = 8\ng_width = 8\nd_width = 8\n'
        '[loss]\nkind = "hinge"\nn_critic = 1\n'
        "[train]\nbatch_size = 8\nsteps = 4\nsample_every = 2\nlog_every = 1\ngrid = 4\n"
        '[runtime]\ndevice = "cpu"\n'
    )
    run = folder / "run"
    args = ["--config", str(config), "--data", str(synthetic_dataset), "--out", str(run), "--progress", "off"]
    assert train_main(args) == 0
    return run


def dark_pixels(picture: Image.Image) -> int:
    return int((np.asarray(picture.convert("L")) < 100).sum())


def test_plot_writes_the_loss_curves_and_the_sample_timeline(tiny_run, capsys):
    assert main([str(tiny_run)]) == 0
    printed = capsys.readouterr().out.split()
    losses, timeline = tiny_run / "plots" / "losses.png", tiny_run / "plots" / "samples-timeline.png"
    assert printed == [str(losses), str(timeline)]
    with Image.open(losses) as chart:
        chart.load()
        assert chart.format == "PNG" and chart.width >= 600 and chart.height >= 400
        pixels = np.asarray(chart.convert("RGB")).reshape(-1, 3)
        colours = {tuple(p) for p in pixels[::7]}
        assert len(colours) > 10  # axes, text and coloured curves, not a blank canvas
    with Image.open(timeline) as strip:
        strip.load()
        # steps 0, 2, 4 and the real covers side by side; TIMELINE_CELLS covers each, enlarged
        assert strip.width >= 4 * MIN_CELL and strip.height >= TIMELINE_CELLS * MIN_CELL
        assert dark_pixels(strip.crop((0, 0, strip.width, 30))) > 0  # title and step captions


def test_plot_into_another_folder_leaves_the_run_alone(tiny_run, tmp_path):
    before = sorted(p.name for p in tiny_run.iterdir())
    assert main([str(tiny_run), "--out", str(tmp_path / "pictures")]) == 0
    assert sorted(p.name for p in (tmp_path / "pictures").iterdir()) == ["losses.png", "samples-timeline.png"]
    assert sorted(p.name for p in tiny_run.iterdir()) == before


def test_a_run_without_stats_still_gets_its_timeline(tiny_run, tmp_path, capsys):
    copy = tmp_path / "copy"
    (copy / "samples").mkdir(parents=True)
    (copy / "config.json").write_text((tiny_run / "config.json").read_text())
    for grid in (tiny_run / "samples").iterdir():
        (copy / "samples" / grid.name).write_bytes(grid.read_bytes())
    assert main([str(copy)]) == 0
    assert "skipped" in capsys.readouterr().err and (copy / "plots" / "samples-timeline.png").is_file()


def test_plot_of_a_folder_that_is_not_a_run_is_a_one_line_error(tmp_path, capsys):
    assert main([str(tmp_path)]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("albumgan-plot: error:") and "stats.jsonl does not exist" in error and "\n" not in error


def test_stats_with_a_non_finite_loss_still_plot(tmp_path):
    lines = [{"step": s, "D/adv": v, "G/adv": 1.0} for s, v in ((1, 0.5), (2, float("nan")), (3, 0.25))]
    (tmp_path / "stats.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert main([str(tmp_path)]) == 0 and (tmp_path / "plots" / "losses.png").is_file()


def test_ticks_are_round_and_cover_the_range():
    assert nice_ticks(0.13, 0.96) == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert nice_ticks(1, 4000) == [0, 1000, 2000, 3000, 4000]
    assert nice_ticks(2.0, 2.0) == [1.0, 1.5, 2.0, 2.5, 3.0]
