"""albumgan-plot: pictures of a training run for people (no torch needed).

    albumgan-plot RUN [--out DIR]

Writes DIR/losses.png (the loss curves of RUN/stats.jsonl) and DIR/samples-timeline.png (the
sample grids' first covers across the run); DIR defaults to RUN/plots. Safe beside a run that
is still training: it only reads. A separate program, not an `albumgan-train` subcommand,
because `albumgan-train` takes no command word (`albumgan-train --config ...`), as
`albumgan-eval RUN` is separate too. Exit codes: 0 written, 2 nothing to plot (one line on stderr).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from albumgan.training.plots import PLOTS_DIR, PlotError, write_plots


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="albumgan-plot", description="Loss curves and a sample timeline of a run.")
    p.add_argument("run", type=Path, help="training run directory (albumgan-train --out)")
    p.add_argument("--out", type=Path, help=f"folder for the PNGs (default RUN/{PLOTS_DIR})")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        written, skipped = write_plots(args.run, args.out)
    except (PlotError, OSError, json.JSONDecodeError, KeyError) as exc:
        print(f"albumgan-plot: error: {exc}", file=sys.stderr)
        return 2
    for reason in skipped:
        print(f"albumgan-plot: skipped: {reason}", file=sys.stderr)
    for path in written:
        print(path)
    return 0
