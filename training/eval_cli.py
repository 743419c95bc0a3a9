"""albumgan-eval: measure a generator (training checkpoint or exported ONNX file).

    albumgan-eval MODEL --data DATASET [--n 5000] [--metrics fid,kid,precision_recall,memorisation,steering]
                  [--out DIR] [--holdout FILE|DIR] [--seed 0] [--cache-dir DIR] [--resolution PX]

Writes DIR/eval.json (the full report), DIR/summary.json (the compact figures for
`albumgan-export --eval-json`) and PNGs (samples, closest pairs, feature sweeps), and prints
every figure with its protocol. See docs/QUALITY.md.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from albumgan.logsafe import configure_logging
from albumgan.training.data.format import DatasetError
from albumgan.training.metrics.evaluate import (
    METRICS,
    EvalConfig,
    EvalError,
    evaluate,
    format_report,
)
from albumgan.training.metrics.inception import BACKENDS, FeatureError
from albumgan.training.metrics.kid import DEFAULT_SUBSET_SIZE, DEFAULT_SUBSETS
from albumgan.training.metrics.memorisation import DEFAULT_COPY_THRESHOLD
from albumgan.training.metrics.precision_recall import DEFAULT_NEAREST_K
from albumgan.training.metrics.samplers import ModelLoadError, open_sampler

log = logging.getLogger("albumgan-eval")


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _metrics(text: str) -> tuple[str, ...]:
    names = tuple(m.strip() for m in text.split(",") if m.strip())
    unknown = [m for m in names if m not in METRICS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown metric {unknown[0] if unknown else text!r}; choose from {','.join(METRICS)}"
        )
    return names


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="albumgan-eval", description="FID/KID, memorisation and feature steering of a cover generator."
    )
    p.add_argument("model", type=Path, help="training checkpoint (.pt) or exported model (.onnx)")
    p.add_argument(
        "--data", type=Path, required=True, help="dataset directory with the real covers (the training data)"
    )
    p.add_argument(
        "--n", type=_positive_int, default=5000, help="generated images (default 5000; FID is biased at small N)"
    )
    p.add_argument(
        "--metrics", type=_metrics, default=None, help=f"comma list from {','.join(METRICS)} (default: all that apply)"
    )
    p.add_argument(
        "--out", type=Path, default=None, help="output directory for eval.json and PNGs (default ./eval-<model name>)"
    )
    p.add_argument(
        "--holdout",
        type=Path,
        default=None,
        help=(
            "real covers NOT trained on: a file of dataset item ids (excluded from the reference) "
            "or a dataset directory"
        ),
    )
    p.add_argument("--seed", type=int, default=0, help="sampling seed (latents, label rows, KID subsets)")
    p.add_argument(
        "--resolution",
        type=_positive_int,
        help="score at this size against the dataset's covers at it, the model's covers resized "
        "(compare models of different sizes on one protocol; default: the model's own size)",
    )
    p.add_argument("--batch-size", type=_positive_int, default=32)
    p.add_argument(
        "--cache-dir",
        type=Path,
        default=None,
        help="real-feature and Inception cache (default $ALBUMGAN_CACHE_DIR or ~/.cache/albumgan)",
    )
    p.add_argument(
        "--backend", choices=BACKENDS, default="auto", help="feature network runtime (auto: onnxruntime if it works)"
    )
    p.add_argument("--kid-subsets", type=_positive_int, default=DEFAULT_SUBSETS)
    p.add_argument("--kid-subset-size", type=_positive_int, default=DEFAULT_SUBSET_SIZE)
    p.add_argument(
        "--sweep-rows", type=_positive_int, default=4, help="latents per feature sweep picture (conditional models)"
    )
    p.add_argument(
        "--copy-threshold",
        type=float,
        default=DEFAULT_COPY_THRESHOLD,
        help="cosine distance below which a sample counts as a suspected copy",
    )
    p.add_argument(
        "--nearest-k",
        type=_positive_int,
        default=DEFAULT_NEAREST_K,
        help="neighbours that make each cover's neighbourhood for precision/recall",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("-v", "--verbose", action="store_true")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    if args.n < 2:
        print("albumgan-eval: error: --n must be at least 2 (FID needs a covariance)", file=sys.stderr)
        return 2
    out = args.out or Path(f"eval-{args.model.stem}")
    config = EvalConfig(
        n=args.n,
        seed=args.seed,
        metrics=args.metrics,
        batch_size=args.batch_size,
        kid_subsets=args.kid_subsets,
        kid_subset_size=args.kid_subset_size,
        copy_threshold=args.copy_threshold,
        nearest_k=args.nearest_k,
        sweep_seeds=args.sweep_rows,
        holdout=args.holdout,
        cache_dir=args.cache_dir,
        out_dir=out,
        backend=args.backend,
        progress=not args.no_progress,
        resolution=args.resolution,
    )
    try:
        if not args.data.is_dir():
            raise EvalError(f"dataset directory {args.data} does not exist")
        sampler = open_sampler(args.model)
        report = evaluate(sampler, args.data, config)
    except (ModelLoadError, EvalError, DatasetError, FeatureError) as exc:
        # Some libraries' messages run to paragraphs (torch.load's); the first line says it.
        print(f"albumgan-eval: error: {str(exc).strip().splitlines()[0]}", file=sys.stderr)
        return 2
    for line in format_report(report):
        print(line)
    print(f"wrote {out / 'eval.json'}" + "".join(f", {out / name}" for name in report["images"].values()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
