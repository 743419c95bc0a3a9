"""The steering measurement on the synthetic world where features truly determine the cover
(training/metrics/synthetic.py): recovered-vs-requested correlation per feature, through the
same `evaluate` path a real conditional model takes. Driven features must come out high, the
six undriven ones near zero.

    python benchmarks/eval_steering_synthetic.py                  # 256 covers, N=256, 32 px
    python benchmarks/eval_steering_synthetic.py --covers 512 --n 512 --out steering-synthetic
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from albumgan.training.metrics.evaluate import EvalConfig, evaluate  # noqa: E402
from albumgan.training.metrics.synthetic import DRIVEN, SyntheticSampler, write_synthetic_dataset  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--covers", type=int, default=256)
    p.add_argument("--n", type=int, default=256)
    p.add_argument("--resolution", type=int, default=32)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=None, help="keep eval.json and the sweep PNGs here")
    p.add_argument("--cache-dir", type=Path, default=None)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = write_synthetic_dataset(Path(tmp) / "synthetic", args.covers, args.resolution, seed=args.seed)
        config = EvalConfig(
            n=args.n,
            seed=args.seed,
            metrics=("steering",),
            out_dir=args.out,
            cache_dir=args.cache_dir or Path(tmp) / "cache",
        )
        report = evaluate(SyntheticSampler(args.resolution), data, config)
    steering = report["steering"]
    print(
        f"synthetic steering: {args.covers} covers ({steering['predictor_covers']} fit the predictor), "
        f"N={args.n} generated at {args.resolution}px, load average {os.getloadavg()[0]:.1f}"
    )
    print(f"{'feature':18s} {'driven':>6s} {'r gen':>7s} {'cv r real':>9s} {'sweep r':>8s}")
    for name, row in steering["features"].items():
        sweep = steering["sweeps"].get(name, {}).get("r")
        print(
            f"{name:18s} {'yes' if name in DRIVEN else 'no':>6s} {row['r']:+7.2f} {row['predictor_cv_r']:+9.2f} "
            f"{'' if sweep is None else f'{sweep:+8.2f}'}"
        )


if __name__ == "__main__":
    main()
