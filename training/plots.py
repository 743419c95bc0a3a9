"""Pictures of a run directory for people (`albumgan-plot RUN` writes them to RUN/plots/):

- losses.png: the loss curves of stats.jsonl, one panel for the critic's (D/...) and one for
  the generator's (G/...) terms, against the generator step;
- samples-timeline.png: the first cells of the sample grids across the run, one column per
  grid captioned with its step (the grids use fixed latents and labels, so a row follows one
  cover through training), and the real covers that conditioned them last.

Pillow only, no torch and no plotting library: it runs beside a training run or on a laptop
that has only copied RUN/.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from albumgan.training.metrics.grids import FONT, INK, PAD, line_height, text_width
from albumgan.training.metrics.storage import save_png

PLOTS_DIR = "plots"
LOSS_PANELS = (("D/", "critic"), ("G/", "generator"))
COLOURS = ((31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75))
PLOT_W, PLOT_H = 560, 220  # the drawing area of one panel
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_BOTTOM = 64, 130, 40
TICKS = 5
GRID_NAME = re.compile(r"^fakes(\d+)\.png$")
TIMELINE_COLUMNS = 12  # at most this many grids, evenly spaced, the first and last included
TIMELINE_CELLS = 4  # the first cells of each grid
MIN_CELL = 64  # smaller covers are enlarged (nearest neighbour) to this side


class PlotError(ValueError):
    """A run directory with nothing to plot; the message says what is missing."""


@dataclass
class Series:
    name: str
    xs: list[float]  # generator steps, minutes, ...
    values: list[float]


@dataclass
class Panel:
    heading: str
    series: list[Series]
    y_label: str


# Loss curves.


def read_stats(run: Path) -> list[dict]:
    path = run / "stats.jsonl"
    if not path.is_file():
        raise PlotError(f"{path} does not exist: is {run} a training run directory?")
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    if not lines:
        raise PlotError(f"{path} is empty: the run has not logged a step yet")
    return lines


def loss_series(lines: list[dict], prefix: str) -> list[Series]:
    """Every finite value of each `prefix` key, in step order."""
    names = sorted({key for line in lines for key in line if key.startswith(prefix)})
    series = []
    for name in names:
        points = [(line["step"], line[name]) for line in lines if _finite(line.get(name))]
        if points:
            series.append(Series(name, [s for s, _ in points], [v for _, v in points]))
    return series


def _finite(value) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def nice_ticks(low: float, high: float, count: int = TICKS) -> list[float]:
    """Round tick values (1, 2, 2.5 or 5 times a power of ten apart) covering [low, high]."""
    if high <= low:
        low, high = low - 1, high + 1
    raw = (high - low) / max(count - 1, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    spacing = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.floor(low / spacing) * spacing
    last = math.ceil(high / spacing) * spacing
    return [round(first + i * spacing, 10) for i in range(round((last - first) / spacing) + 1)]


def tick_label(value: float) -> str:
    return f"{value:g}" if abs(value) < 1e5 else f"{value:.0e}"


def loss_chart(lines: list[dict], title: str) -> Image.Image:
    panels = [Panel(heading, found, "loss") for prefix, heading in LOSS_PANELS if (found := loss_series(lines, prefix))]
    if not panels:
        raise PlotError("stats.jsonl has no loss values (D/... or G/...)")
    return line_chart(panels, title, "generator step")


def line_chart(panels: list[Panel], title: str, x_label: str) -> Image.Image:
    """Panels stacked under a title, sharing one x axis."""
    xs = [x for panel in panels for s in panel.series for x in s.xs]
    x_ticks = nice_ticks(min(xs), max(xs))
    title_h = 2 * PAD + 2 * line_height()
    panel_h = PLOT_H + MARGIN_BOTTOM + line_height() + PAD
    legend_w = max(text_width(s.name) for panel in panels for s in panel.series) + 36 + PAD
    width = MARGIN_LEFT + PLOT_W + max(MARGIN_RIGHT, legend_w)
    chart = Image.new("RGB", (width, title_h + len(panels) * panel_h), "white")
    draw = ImageDraw.Draw(chart)
    put_text(draw, (chart.width // 2, PAD), title, align="centre")
    for i, panel in enumerate(panels):
        top = title_h + i * panel_h + line_height() + PAD
        put_text(draw, (MARGIN_LEFT, top - line_height()), panel.heading)
        draw_panel(chart, (MARGIN_LEFT, top), panel, x_ticks, x_label)
    return chart


def draw_panel(chart: Image.Image, origin: tuple[int, int], panel: Panel, x_ticks: list[float], x_label: str) -> None:
    """Axes with ticks, one line per series and a legend, the plot area's top left at `origin`."""
    series = panel.series
    draw = ImageDraw.Draw(chart)
    left, top = origin
    values = [v for s in series for v in s.values]
    y_ticks = nice_ticks(min(values), max(values))

    def x(step: float) -> float:
        return left + (step - x_ticks[0]) / (x_ticks[-1] - x_ticks[0]) * PLOT_W

    def y(value: float) -> float:
        return top + PLOT_H - (value - y_ticks[0]) / (y_ticks[-1] - y_ticks[0]) * PLOT_H

    for tick in y_ticks:
        draw.line((left, y(tick), left + PLOT_W, y(tick)), fill=(225, 225, 225))
        draw.line((left - 4, y(tick), left, y(tick)), fill=INK)
        put_text(draw, (left - 6, y(tick) - line_height() // 2), tick_label(tick), align="right")
    for tick in x_ticks:
        draw.line((x(tick), top + PLOT_H, x(tick), top + PLOT_H + 4), fill=INK)
        put_text(draw, (x(tick), top + PLOT_H + 6), tick_label(tick), align="centre")
    draw.rectangle((left, top, left + PLOT_W, top + PLOT_H), outline=INK)
    put_text(draw, (left + PLOT_W // 2, top + PLOT_H + 8 + line_height()), x_label, align="centre")
    y_label = rotated_text(panel.y_label)
    chart.paste(y_label, (left - MARGIN_LEFT + PAD, top + (PLOT_H - y_label.height) // 2))
    for k, s in enumerate(series):
        colour = COLOURS[k % len(COLOURS)]
        points = [(x(step), y(value)) for step, value in zip(s.xs, s.values, strict=True)]
        if len(points) > 1:
            draw.line(points, fill=colour, width=2)
        else:
            draw.ellipse((points[0][0] - 2, points[0][1] - 2, points[0][0] + 2, points[0][1] + 2), fill=colour)
        legend_y = top + PAD + k * (line_height() + 2)
        draw.line((left + PLOT_W + 10, legend_y + 6, left + PLOT_W + 30, legend_y + 6), fill=colour, width=2)
        put_text(draw, (left + PLOT_W + 36, legend_y), s.name)


def put_text(draw: ImageDraw.ImageDraw, xy: tuple[float, float], text: str, align: str = "left") -> None:
    """Text whose top edge is at y and whose left edge, centre or right edge is at x (Pillow's
    anchors would do this, but only with a FreeType font, and the default font may be a bitmap)."""
    shift = {"left": 0.0, "centre": text_width(text) / 2, "right": float(text_width(text))}[align]
    draw.text((xy[0] - shift, xy[1]), text, fill=INK, font=FONT)


def rotated_text(text: str) -> Image.Image:
    """`text` reading bottom to top, for a y axis label."""
    label = Image.new("RGB", (text_width(text) + 2, line_height()), "white")
    ImageDraw.Draw(label).text((1, 0), text, fill=INK, font=FONT)
    return label.rotate(90, expand=True)


# Sample timeline.


def sample_grids(run: Path) -> list[tuple[int, Path]]:
    """(step, path) of every sample grid the run wrote, in step order."""
    found = [(int(m.group(1)), p) for p in (run / "samples").glob("fakes*.png") if (m := GRID_NAME.match(p.name))]
    return sorted(found)


def evenly_spaced(items: list[tuple[int, Path]], count: int) -> list[tuple[int, Path]]:
    """At most `count` of `items`, evenly spaced, the first and the last included."""
    if len(items) <= count:
        return items
    return [items[i] for i in sorted({round(i) for i in np.linspace(0, len(items) - 1, count)})]


def grid_cells(path: Path, side: int, grid: int, count: int) -> list[Image.Image]:
    """The first `count` covers of a sample grid (laid out by training.loop.save_grid: as
    square as the count allows, no gaps)."""
    columns = math.ceil(math.sqrt(grid))
    with Image.open(path) as file:
        picture = file.convert("RGB")
    return [
        picture.crop(((k % columns) * side, (k // columns) * side, (k % columns + 1) * side, (k // columns + 1) * side))
        for k in range(min(count, grid))
    ]


def samples_timeline(run: Path, title: str) -> Image.Image:
    grids = sample_grids(run)
    if not grids:
        raise PlotError(f"no sample grids (fakes*.png) in {run / 'samples'}")
    config = run_config(run)
    if config is None:
        raise PlotError(f"{run / 'config.json'} does not exist: the grids' layout is unknown")
    side, grid = int(config["model"]["resolution"]), int(config["train"]["grid"])
    columns = [
        (f"step {step:,}", grid_cells(path, side, grid, TIMELINE_CELLS))
        for step, path in evenly_spaced(grids, TIMELINE_COLUMNS)
    ]
    if (run / "samples" / "reals.png").is_file():
        columns.append(("real", grid_cells(run / "samples" / "reals.png", side, grid, TIMELINE_CELLS)))
    cell = max(side, MIN_CELL)
    column_w = max(cell, *(text_width(caption) for caption, _ in columns)) + 2 * PAD
    head = line_height() + PAD
    title_h = 2 * PAD + line_height()
    rows = len(columns[0][1])
    width = max(len(columns) * column_w, text_width(title) + 2 * PAD)
    strip = Image.new("RGB", (width, title_h + head + rows * (cell + PAD)), "white")
    draw = ImageDraw.Draw(strip)
    put_text(draw, (PAD, PAD), title)
    for c, (caption, cells) in enumerate(columns):
        centre = c * column_w + column_w // 2
        put_text(draw, (centre, title_h), caption, align="centre")
        for r, image in enumerate(cells):
            enlarged = image.resize((cell, cell), Image.Resampling.NEAREST)
            strip.paste(enlarged, (centre - cell // 2, title_h + head + r * (cell + PAD)))
    return strip


# Both.


def run_config(run: Path) -> dict | None:
    """The resolved config the run was started with (RUN/config.json), None without one."""
    path = run / "config.json"
    return json.loads(path.read_text())["config"] if path.is_file() else None


def run_title(run: Path) -> str:
    config = run_config(run)
    name = run.resolve().name
    return name if config is None else f"{name} ({config['model']['kind']}, {config['loss']['kind']})"


def write_plots(run: Path, out: Path | None = None) -> tuple[list[Path], list[str]]:
    """Write losses.png and samples-timeline.png (default folder RUN/plots): (the paths written,
    why the others were not). Each is written when the run has what it needs; PlotError when
    neither could be."""
    out = out or run / PLOTS_DIR
    title = run_title(run)
    written: list[Path] = []
    problems: list[str] = []
    for name, draw in (
        ("losses.png", lambda: loss_chart(read_stats(run), f"Losses of {title}")),
        ("samples-timeline.png", lambda: samples_timeline(run, f"Samples of {title} (fixed latents) across training")),
    ):
        try:
            picture = draw()
        except PlotError as exc:
            problems.append(str(exc))
            continue
        written.append(save_png(out / name, picture))
    if not written:
        raise PlotError("; ".join(problems))
    return written, problems
