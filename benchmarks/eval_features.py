"""Feature-extraction throughput of the FID/KID network (TF-Inception, 299 px) on this machine:
TorchScript vs onnxruntime, plus the FID/KID arithmetic, so evaluation times can be predicted.

    python benchmarks/eval_features.py                 # 64 px input, batch 32, 6 batches each
    python benchmarks/eval_features.py --resolution 128 --batches 10 --batch-size 32

Prints images/s per backend (the resize to 299 px included, image generation excluded) and the
time of FID (5,000 vs 1,523 rows) and KID (100 subsets of 1,000) on random 2048-d features.
The machine is shared: the load average is printed beside the figures.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from albumgan.training.metrics.fid import fid  # noqa: E402
from albumgan.training.metrics.inception import InceptionFeatures  # noqa: E402
from albumgan.training.metrics.kid import kid  # noqa: E402


def throughput(extractor: InceptionFeatures, images: np.ndarray, batch_size: int) -> float:
    extractor(images[:batch_size])  # warm-up: first run allocates
    start = time.perf_counter()
    for i in range(0, len(images), batch_size):
        extractor(images[i : i + batch_size])
    return len(images) / (time.perf_counter() - start)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--resolution", type=int, default=64)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--batches", type=int, default=6)
    p.add_argument(
        "--cache-dir", type=Path, default=None, help="where the exported ONNX Inception lives (default: a temp dir)"
    )
    args = p.parse_args()
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (args.batch_size * args.batches, args.resolution, args.resolution, 3), dtype=np.uint8)
    print(
        f"cpu cores {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}, "
        f"input {args.resolution}px -> 299px, batch {args.batch_size}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        cache = args.cache_dir or Path(tmp)
        start = time.perf_counter()
        ort_extractor = InceptionFeatures("onnxruntime", cache)
        print(f"onnxruntime setup (export + parity check if not cached): {time.perf_counter() - start:.1f} s")
        rates = {"onnxruntime": throughput(ort_extractor, images, args.batch_size)}
        del ort_extractor
        rates["torch"] = throughput(InceptionFeatures("torch", cache), images, args.batch_size)
    for backend, rate in rates.items():
        print(
            f"{backend:12s} {rate:6.1f} images/s  -> N=1000 {1000 / rate / 60:5.1f} min, "
            f"N=5000 {5000 / rate / 60:5.1f} min"
        )
    fake = rng.gamma(2.0, 0.3, (5000, 2048)).astype(np.float32)
    real = rng.gamma(2.0, 0.3, (1523, 2048)).astype(np.float32)
    start = time.perf_counter()
    fid(fake, real)
    print(f"FID 5000 vs 1523 rows: {time.perf_counter() - start:.1f} s")
    start = time.perf_counter()
    kid(fake, real)
    print(f"KID 100 subsets of 1000: {time.perf_counter() - start:.1f} s")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
