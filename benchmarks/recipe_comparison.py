"""Recipes at equal wall-clock: one markdown row per run, a picture of their samples, and
FID/KID against minutes.

Each RUN is a training run folder that `albumgan-eval RUN ... --out RUN/EVAL` has scored
(docs/QUALITY.md, "Recipe comparison at equal wall-clock", says how the runs were made).
The row reads the recipe from RUN/config.json, the evaluated checkpoint's step and the
figures from RUN/EVAL/eval.json, and the real images per step from RUN/stats.jsonl.
The picture puts the first 4x4 evaluation samples of each run side by side (generated
images only, so it can be published).

    .venv/bin/python benchmarks/recipe_comparison.py runs/cmp-* --picture docs/quality/recipe-comparison.png

With --minutes 10,20,... it first scores (albumgan-eval, N=--n, FID, KID and memorisation)
each run's newest checkpoint written within each mark of training wall-clock (the
checkpoint's own `training.seconds`, so resumed runs count right) into RUN/curve/mNNN,
reusing scores already there; the rows then describe the last mark, a second table gives
every mark, and --curves draws FID and KID against minutes. Runs trained side by side need
every checkpoint kept (`--set train.keep_checkpoints=0`).

    .venv/bin/python benchmarks/recipe_comparison.py runs/cmp/* --minutes 10,20,30,45,60,90 \
        --data data/covers-train --curves docs/quality/recipe-curves.png --picture docs/quality/recipe-samples.png
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np
from PIL import Image

from albumgan.training import eval_cli
from albumgan.training.checkpoint import list_checkpoints, load_checkpoint
from albumgan.training.metrics.grids import GAP
from albumgan.training.metrics.storage import save_png
from albumgan.training.plots import Panel, Series, line_chart

TILES = 4  # samples per side of each run's block in the picture


CURVE_DIR = "curve"


def recipe_words(config: dict) -> str:
    model, loss, optim, logan = config["model"], config["loss"], config["optim"], config["logan"]
    words = [f"{model['generator']} G / {model['discriminator']} D, {model['resolution']} px"]
    if model["kind"] == "acgan":
        conditioning = (("projection", model["d_projection"]), ("aux head", loss["aux_weight"] > 0))
        heads = [name for name, on in conditioning if on]
        words.append("conditioned by " + " + ".join(heads))
    words.append(loss["kind"] + (" + LOGAN" if logan["enabled"] else ""))
    if loss.get("lecam_weight"):
        words.append(f"LeCam {loss['lecam_weight']:g}")
    words.append(f"{loss['n_critic']} critic step(s)")
    words.append(f"{optim['kind']} {optim['g_lr']:g}")
    words.append(f"DiffAugment {config['augment']['policy'] or 'off'}")
    words.append(f"batch {config['train']['batch_size']}")
    return ", ".join(words)


def report_of(run: Path, eval_dir: str) -> dict:
    return json.loads((run / eval_dir / "eval.json").read_text())


def row(run: Path, eval_dir: str) -> str:
    config = json.loads((run / "config.json").read_text())["config"]
    last = json.loads((run / "stats.jsonl").read_text().splitlines()[-1])
    report = report_of(run, eval_dir)
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


def checkpoint_minutes(run: Path) -> list[tuple[float, Path]]:
    """(minutes of training, path) of every checkpoint, oldest first; cached in RUN/curve/minutes.json
    because reading them means loading each file."""
    cache_path = run / CURVE_DIR / "minutes.json"
    cache = json.loads(cache_path.read_text()) if cache_path.is_file() else {}
    found = []
    for path in list_checkpoints(run / "checkpoints"):
        if path.name not in cache:
            cache[path.name] = load_checkpoint(path)["training"]["seconds"] / 60
        found.append((cache[path.name], path))
    cache_path.parent.mkdir(parents=True, exist_ok=True)
    cache_path.write_text(json.dumps(cache, indent=1))
    return found


def score_marks(run: Path, marks: list[int], data: Path, n: int) -> list[tuple[int, dict]]:
    """(mark, eval.json report) for each mark the run reached with a checkpoint."""
    checkpoints = checkpoint_minutes(run)
    limit = json.loads((run / "config.json").read_text())["config"]["train"]["minutes"]
    scored = []
    for mark in marks:
        # A run stops after the step that passes its --minutes, so its last checkpoint is its
        # end even when that step took it a minute or two past the limit.
        slack = math.inf if limit and mark >= limit else 1
        within = [path for minutes, path in checkpoints if minutes <= mark + slack]
        if not within or checkpoints[-1][0] < mark - 1:  # the run has not got there (yet)
            continue
        out = run / CURVE_DIR / f"m{mark:03d}"
        report_path = out / "eval.json"
        if report_path.is_file() and json.loads(report_path.read_text())["model"]["path"] != str(within[-1]):
            report_path.unlink()  # scored from a different checkpoint (the run went on since)
        if not report_path.is_file():
            argv = [str(within[-1]), "--data", str(data), "--n", str(n), "--metrics", "fid,kid,memorisation"]
            if eval_cli.main([*argv, "--out", str(out), "--no-progress"]) != 0:
                raise SystemExit(f"albumgan-eval failed on {within[-1]}")
        scored.append((mark, json.loads(report_path.read_text())))
    return scored


def curves_table(runs: list[Path], scores: dict[Path, list[tuple[int, dict]]], marks: list[int]) -> list[str]:
    lines = ["| run | " + " | ".join(f"{m} min" for m in marks) + " |", "|---|" + "---|" * len(marks)]
    for run in runs:
        by_mark = {mark: report for mark, report in scores[run]}
        cells = [
            f"{r['fid']['value']:.0f} / {r['kid']['mean'] * 1e3:.0f} ({r['model']['step']:,})"
            if (r := by_mark.get(m))
            else "-"
            for m in marks
        ]
        lines.append(f"| {run.name} | " + " | ".join(cells) + " |")
    return lines


def curves_picture(runs: list[Path], scores: dict[Path, list[tuple[int, dict]]], n: int) -> Image.Image:
    def series(run: Path, value) -> Series:
        points = [(mark, value(report)) for mark, report in scores[run]]
        return Series(run.name, [m for m, _ in points], [v for _, v in points])

    fid = [series(r, lambda rep: rep["fid"]["value"]) for r in runs]
    kid = [series(r, lambda rep: rep["kid"]["mean"] * 1e3) for r in runs]
    panels = [Panel(f"FID ({n:,} samples)", fid, "FID"), Panel(f"KID x 1000 ({n:,} samples)", kid, "KID x 1000")]
    return line_chart(panels, "Recipes trained side by side: FID and KID against wall-clock", "minutes of training")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--eval-dir", default="eval5k", help="the evaluation's --out, inside each run")
    parser.add_argument("--picture", type=Path, help="write the side-by-side samples here")
    parser.add_argument("--minutes", help="comma list of wall-clock marks to score (needs --data)")
    parser.add_argument("--data", type=Path, help="the reference dataset (the training covers)")
    parser.add_argument("--n", type=int, default=1000, help="samples per scored mark")
    parser.add_argument("--curves", type=Path, help="write the FID/KID-against-minutes picture here")
    args = parser.parse_args(argv)
    if args.minutes:
        if args.data is None:
            parser.error("--minutes needs --data")
        marks = [int(m) for m in args.minutes.split(",")]
        scores = {run: score_marks(run, marks, args.data, args.n) for run in args.runs}
        print("\n".join(curves_table(args.runs, scores, marks)) + "\n")
        if args.curves:
            save_png(args.curves, curves_picture(args.runs, scores, args.n))
            print(f"wrote {args.curves}")
        reached = [mark for run in args.runs for mark, _ in scores[run]]
        if not reached:
            return 0
        args.eval_dir = f"{CURVE_DIR}/m{max(reached):03d}"
    scored = [run for run in args.runs if (run / args.eval_dir / "eval.json").is_file()]
    if not scored:
        parser.error(f"no run has {args.eval_dir}/eval.json")
    n = report_of(scored[0], args.eval_dir)["protocol"]["n_generated"]
    print(f"| run | recipe | G steps | real images seen | FID ({n:,}) | KID ×10³ | memorisation (median / copies) |")
    print("|---|---|---|---|---|---|---|")
    for run in scored:
        print(row(run, args.eval_dir))
    if args.picture:
        picture(scored, args.eval_dir).save(args.picture)
        print(f"wrote {args.picture} ({', '.join(r.name for r in scored)}, left to right)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
