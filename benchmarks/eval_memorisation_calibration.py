"""Calibrate the memorisation threshold: cosine distance (TF-Inception features) to the nearest
training cover for altered copies of training covers, for unseen-like real covers
(leave-one-out), and for flat colours and noise. The copy threshold must separate the copies
from the real covers.

    python benchmarks/eval_memorisation_calibration.py --data data/covers-64
    python benchmarks/eval_memorisation_calibration.py --images ../shared/data/covers-256 --resolution 64

`--data` is an albumgan dataset (its covers at --resolution); `--images` a folder of image
files, resized with PIL bicubic. Prints one row per variant: min / p5 / median distance and the
fraction below each threshold.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from albumgan.training.data.format import ShardedDataset  # noqa: E402
from albumgan.training.metrics.inception import InceptionFeatures  # noqa: E402
from albumgan.training.metrics.memorisation import DEFAULT_COPY_THRESHOLD, nearest_cosine  # noqa: E402
from albumgan.training.metrics.reference import RealFeatureCache  # noqa: E402

THRESHOLDS = (0.05, DEFAULT_COPY_THRESHOLD, 0.15)


def load_covers(args) -> tuple[np.ndarray, np.ndarray | None]:
    """(images uint8 NHWC, cached features or None)."""
    if args.data:
        dataset = ShardedDataset(args.data, args.resolution)
        features, _ = RealFeatureCache(args.cache_dir).features(dataset, args.extractor)
        return dataset.batch(np.arange(len(dataset))), features
    paths = sorted(p for p in Path(args.images).iterdir() if p.suffix.lower() in {".jpg", ".jpeg", ".png", ".webp"})
    size = (args.resolution, args.resolution)
    return np.stack([np.asarray(Image.open(p).convert("RGB").resize(size, Image.BICUBIC)) for p in paths]), None


def variants(base: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    side = base.shape[1]
    margin = max(1, side // 20)

    def saturated_mirror(a):
        image = ImageEnhance.Color(Image.fromarray(a[:, ::-1])).enhance(1.3)
        return np.asarray(ImageEnhance.Brightness(image).enhance(0.9))

    def crop(a):
        box = (margin, margin, side - margin, side - margin)
        return np.asarray(Image.fromarray(a).crop(box).resize((side, side), Image.BILINEAR))

    return {
        "exact copies": base,
        "mirrored copies": base[:, :, ::-1],
        "mirrored + saturation x1.3, brightness x0.9": np.stack([saturated_mirror(a) for a in base]),
        f"copies shifted {side // 16} px": np.roll(base, side // 16, axis=2),
        f"copies cropped by {margin} px and rescaled": np.stack([crop(a) for a in base]),
        "copies + pixel noise sigma 8": np.clip(base + rng.normal(0, 8, base.shape), 0, 255).astype(np.uint8),
    }


def row(name: str, distance: np.ndarray) -> str:
    below = " ".join(f"{(distance < t).mean():6.1%}" for t in THRESHOLDS)
    return f"{name:48s} {distance.min():.3f} / {np.percentile(distance, 5):.3f} / {np.median(distance):.3f}   {below}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", type=Path)
    source.add_argument("--images", type=Path)
    p.add_argument("--resolution", type=int, default=64)
    p.add_argument("--per-variant", type=int, default=200)
    p.add_argument("--cache-dir", type=Path, default=None)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        args.cache_dir = args.cache_dir or Path(tmp)
        args.extractor = extractor = InceptionFeatures(cache_dir=args.cache_dir)

        def features(images):
            return np.concatenate([extractor(images[i : i + 32]) for i in range(0, len(images), 32)])

        covers, cover_features = load_covers(args)
        if cover_features is None:
            cover_features = features(covers)
        rng = np.random.default_rng(0)
        picked = rng.choice(len(covers), min(args.per_variant, len(covers)), replace=False)
        print(f"{len(covers)} covers at {args.resolution}px; {len(picked)} per variant")
        print(f"{'images':48s} min / p5 / median        below {' '.join(f'{t:6.2f}' for t in THRESHOLDS)}")
        for name, images in variants(covers[picked], rng).items():
            print(row(name, nearest_cosine(features(np.ascontiguousarray(images)), cover_features).distance))
        print(
            row(
                "real covers vs the other covers (leave-one-out)",
                nearest_cosine(cover_features, cover_features, exclude_self=True).distance,
            )
        )
        side = args.resolution
        flat = np.broadcast_to(rng.integers(0, 256, (64, 1, 1, 3), dtype=np.uint8), (64, side, side, 3))
        print(
            row(
                "64 flat single-colour images",
                nearest_cosine(features(np.ascontiguousarray(flat)), cover_features).distance,
            )
        )
        noise = rng.integers(0, 256, (64, side, side, 3), dtype=np.uint8)
        print(row("64 uniform-noise images", nearest_cosine(features(noise), cover_features).distance))


if __name__ == "__main__":
    main()
