"""How different a run's samples are from each other, grid by grid: tells mode collapse (the
spread falls, or stays near 0 while the recipe's other runs have grown it) from an early stage
every generator goes through (all covers one field of colour, spread near 0, at few steps).

For each sample grid a run wrote (fixed latents, so grids are comparable across steps), the
spread is the per-pixel standard deviation across the grid's covers, averaged over pixels and
channels, in 0-255 levels; real covers give the yardstick (the run's reals.png).

    .venv/bin/python benchmarks/sample_spread.py runs/cmp/hinge-64 runs/cmp/wgangp-logan-64 [--every 2]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from albumgan.training.plots import grid_cells, run_config, sample_grids


def spread(grid_path: Path, side: int, grid: int) -> float:
    covers = np.stack([np.asarray(cell, np.float32) for cell in grid_cells(grid_path, side, grid, grid)])
    return float(covers.std(axis=0).mean())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--every", type=int, default=1, help="print every k-th grid (the last always)")
    args = parser.parse_args(argv)
    for run in args.runs:
        config = run_config(run)
        if config is None:
            raise SystemExit(f"{run}/config.json is missing: the grids' layout is unknown")
        side, grid = int(config["model"]["resolution"]), int(config["train"]["grid"])
        grids = sample_grids(run)
        shown = grids[:: args.every] + ([grids[-1]] if grids and (len(grids) - 1) % args.every else [])
        reals = run / "samples" / "reals.png"
        yardstick = f"; real covers {spread(reals, side, grid):.1f}" if reals.is_file() else ""
        print(f"{run.name}: spread across the grid's covers, 0-255 levels{yardstick}")
        print("  " + ", ".join(f"step {step}: {spread(path, side, grid):.1f}" for step, path in shown))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
