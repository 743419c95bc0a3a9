"""Recipes at equal wall-clock: one markdown row per run, plus a picture of their samples.

Each RUN is a training run folder that `albumgan-eval RUN ... --out RUN/EVAL` has scored
(docs/QUALITY.md, "Recipe comparison at equal wall-clock", says how the runs were made).
The row reads the recipe from RUN/config.json, the evaluated checkpoint's step and the
figures from RUN/EVAL/eval.json, and the real images per step from RUN/stats.jsonl.
The picture puts the first 4x4 evaluation samples of each run side by side (generated
images only, so it can be published).

    .venv/bin/python benchmarks/recipe_comparison.py runs/cmp-* --picture docs/quality/recipe-comparison.png
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from PIL import Image

from albumgan.training.metrics.grids import GAP

TILES = 4  # samples per side of each run's block in the picture


def recipe_words(config: dict) -> str:
    loss, optim, logan = config["loss"], config["optim"], config["logan"]
    words = [loss["kind"] + (" + LOGAN" if logan["enabled"] else ""), f"{loss['n_critic']} critic step(s)"]
    words.append(f"{optim['kind']} {optim['g_lr']:g}")
    words.append(f"DiffAugment {config['augment']['policy'] or 'off'}")
    words.append(f"batch {config['train']['batch_size']}")
    return ", ".join(words)


def row(run: Path, eval_dir: str) -> str:
    config = json.loads((run / "config.json").read_text())["config"]
    last = json.loads((run / "stats.jsonl").read_text().splitlines()[-1])
    report = json.loads((run / eval_dir / "eval.json").read_text())
    step = report["model"]["step"]
    per_image = last["images"] / last["step"]  # real images the critic sees per generator step
    kid, memo = report["kid"], report["memorisation"]
    cells = [
        run.name,
        recipe_words(config),
        f"{step:,}",
        f"{round(step * per_image):,}",
        f"{report['fid']['value']:.1f}",
        f"{kid['mean'] * 1e3:.1f} ± {kid['std'] * 1e3:.1f}",
        f"{memo['generated']['median']:.3f} / {memo['suspected_copies']} copies",
    ]
    return "| " + " | ".join(cells) + " |"


def picture(runs: list[Path], eval_dir: str) -> Image.Image:
    blocks = []
    for run in runs:
        with Image.open(run / eval_dir / "samples.png") as grid:
            sample = grid.convert("RGB")
        side = (sample.width - 7 * GAP) // 8  # samples.png is 8 tiles wide with GAP between (a caption below)
        blocks.append(
            np.asarray(sample.crop((0, 0, TILES * side + (TILES - 1) * GAP, TILES * side + (TILES - 1) * GAP)))
        )
    gap = np.full((blocks[0].shape[0], 4 * GAP, 3), 255, np.uint8)
    return Image.fromarray(np.concatenate([b for block in blocks for b in (block, gap)][:-1], axis=1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--eval-dir", default="eval5k", help="the evaluation's --out, inside each run")
    parser.add_argument("--picture", type=Path, help="write the side-by-side samples here")
    args = parser.parse_args(argv)
    print("| run | recipe | G steps | real images seen | FID-5k | KID ×10³ | memorisation (median cosine / copies) |")
    print("|---|---|---|---|---|---|---|")
    for run in args.runs:
        print(row(run, args.eval_dir))
    if args.picture:
        picture(args.runs, args.eval_dir).save(args.picture)
        print(f"wrote {args.picture} ({', '.join(r.name for r in args.runs)}, left to right)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
