"""Loader throughput: images/s into a float training batch (n, 3, R, R) in [-1, 1], from
the memory-mapped shards (numpy gather, and the torch BatchLoader) versus decoding the
JPEGs and resizing them every step, as a naive loader would.

    .venv/bin/python benchmarks/loader_throughput.py --data data/covers --jpegs /work/shared/data/covers-256

Without --data/--jpegs it builds a synthetic set of 512 generated 256 px covers first
(run it from the repository root with PYTHONPATH=. for the cover generator in fakes/).
"""

from __future__ import annotations

import argparse
import io
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from albumgan.training.data.clean import decode, square_resize
from albumgan.training.data.format import ShardedDataset


def per_second(fn, batch: int, seconds: float = 3.0) -> float:
    fn()  # warm the page cache and the code paths
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        fn()
        done += batch
    return done / (time.perf_counter() - start)


def to_float(pixels: np.ndarray) -> np.ndarray:
    return pixels.transpose(0, 3, 1, 2).astype(np.float32) / 127.5 - 1.0


def synthetic(workdir: Path) -> tuple[Path, Path]:
    from albumgan.training.data.importer import ImportConfig, import_images
    from fakes.spotify import render_cover

    jpegs = workdir / "jpegs"
    jpegs.mkdir()
    for seed in range(512):
        out = io.BytesIO()
        render_cover(seed, 256).save(out, "JPEG", quality=92)
        (jpegs / f"{seed:04d}.jpg").write_bytes(out.getvalue())
    path, _ = import_images(ImportConfig(jpegs, workdir / "ds"))
    return path, jpegs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path)
    parser.add_argument("--jpegs", type=Path)
    parser.add_argument("--resolution", type=int, default=64)
    parser.add_argument("--batch", type=int, default=64)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir, jpeg_dir = (args.data, args.jpegs) if args.data and args.jpegs else synthetic(Path(tmp))
        dataset = ShardedDataset(data_dir, args.resolution)
        files = sorted(jpeg_dir.glob("*.jpg"))
        rng = np.random.default_rng(0)
        res, batch = args.resolution, args.batch

        def memmap_batch():
            to_float(dataset.batch(rng.choice(len(dataset), batch, replace=False)))

        def jpeg_batch():
            picks = rng.choice(len(files), batch, replace=False)
            to_float(np.stack([square_resize(decode(files[i].read_bytes()), res) for i in picks]))

        def jpeg_batch_pil_only():
            picks = rng.choice(len(files), batch, replace=False)
            arrays = []
            for i in picks:
                with Image.open(files[i]) as image:
                    arrays.append(np.asarray(image.convert("RGB").resize((res, res), Image.Resampling.BILINEAR)))
            to_float(np.stack(arrays))

        print(f"{len(dataset)} images at {res} px, batch {batch}")
        print(f"memmap shards (numpy gather + float):   {per_second(memmap_batch, batch):>10,.0f} images/s")
        try:
            import torch

            from albumgan.training.data.loader import BatchLoader

            torch.set_num_threads(2)
            resident = BatchLoader(dataset, batch, torch.device("cpu"))
            streamed = BatchLoader(dataset, batch, torch.device("cpu"), cache_on_device_mb=0)
            print(f"BatchLoader, dataset resident:          {per_second(resident.next, batch):>10,.0f} images/s")
            print(f"BatchLoader, gathered from memmap:      {per_second(streamed.next, batch):>10,.0f} images/s")
        except ImportError:
            print("BatchLoader: torch not installed, skipped")
        print(f"JPEG decode + clean resize every step:  {per_second(jpeg_batch, batch):>10,.0f} images/s")
        print(f"JPEG decode + bilinear resize (naive):  {per_second(jpeg_batch_pil_only, batch):>10,.0f} images/s")


if __name__ == "__main__":
    main()
