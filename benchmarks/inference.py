"""Inference speed: torch eager vs onnxruntime, same weights, same process.

    .venv/bin/python benchmarks/inference.py                  # 64 px, width 64, CPU
    .venv/bin/python benchmarks/inference.py --resolution 64 128 --sweep
    .venv/bin/python benchmarks/inference.py --cuda           # GPU machines only

For each resolution: a randomly initialised generator (speed does not depend on the
weights) is saved as a training checkpoint and exported with the real exporter (parity
checked), then both sides compute the same thing: generator + uint8 NHWC conversion.
torch runs `CoverGraph` under inference_mode; onnxruntime runs through `bot.engine.Engine`
with the bot's session settings. Both use the same number of threads (physical cores).
Rows: "torch" is the generator as trained, "torch (sub-pixel)" the same upsample+conv
rewrite the export applies, "onnxruntime" the shipped export, "onnxruntime (plain)" an
export without the rewrite.

Batch 1: per-call latency (p50, p95, min over --repeats calls). Batch 16/64: throughput in
images/s at the p50. Variants are timed in rotating blocks of 5 calls, each block after one
untimed call. `--sweep` also times onnxruntime session variants at batch 1 (graph
optimisation level, threads, spinning) to show what matters.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import onnxruntime as ort  # noqa: E402
import torch  # noqa: E402

from albumgan.bot.engine import Engine, cuda_device_count, physical_cores  # noqa: E402
from albumgan.export.onnx_export import CoverGraph, export_checkpoint, fp16_path  # noqa: E402
from albumgan.labels import DEFAULT_SCHEMA  # noqa: E402
from albumgan.training.architectures import network_state  # noqa: E402
from albumgan.training.checkpoint import FORMAT, VERSION, save_checkpoint  # noqa: E402
from albumgan.training.networks import Generator, count_parameters  # noqa: E402

Z_DIM = 128
BATCHES = (1, 16, 64)


def make_checkpoint(path: Path, resolution: int, width: int, kind: str) -> Generator:
    torch.manual_seed(0)
    c_dim = len(DEFAULT_SCHEMA) if kind == "acgan" else 0
    generator = Generator(z_dim=Z_DIM, resolution=resolution, width=width, c_dim=c_dim).eval()
    entry = network_state(generator)
    save_checkpoint(
        path,
        {
            "format": FORMAT,
            "version": VERSION,
            "kind": kind,
            "step": 0,
            "generator": entry,
            "generator_ema": entry,
            "meta": {
                "latent_prior": "normal",
                "label_schema": DEFAULT_SCHEMA.to_dict() if c_dim else None,
                "dataset": {"content_hash": "benchmark", "count": 0, "provenance": {"source": "random init"}},
                "config": {},
                "created": "",
            },
        },
    )
    return generator


def inputs(batch: int, kind: str, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    feed = [rng.standard_normal((batch, Z_DIM), dtype=np.float32)]
    if kind == "acgan":
        feed += [rng.uniform(-1, 1, (batch, 10)).astype(np.float32), np.ones((batch, 10), np.float32)]
    return feed


def interleaved(fns: dict[str, Callable[[], object]], repeats: int, block: int = 5) -> dict[str, list[float]]:
    """Time several functions in rotating blocks of `block` calls, each block after one
    untimed call: outside load on a shared machine falls on all of them alike, and no
    function pays for the previous one's thread pool winding down."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(max(1, -(-repeats // block))):
        for name, fn in fns.items():
            fn()
            for _ in range(block):
                start = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - start)
    return times


def summarise(times: list[float], batch: int) -> dict:
    p50 = statistics.median(times)
    p95 = sorted(times)[max(0, int(round(0.95 * len(times))) - 1)]
    return {"p50_ms": p50 * 1e3, "p95_ms": p95 * 1e3, "min_ms": min(times) * 1e3, "images_per_s": batch / p50}


def repeats_for(batch: int, repeats: int) -> int:
    return max(5, repeats // max(1, batch // 4))


def bench(
    torch_fns: dict[str, Callable], ort_fns: dict[str, Callable], kind: str, repeats: int, batches=BATCHES
) -> dict:
    """rows[batch][runtime] for each torch and onnxruntime variant, timed round-robin."""
    rows = {}
    for batch in batches:
        feed = inputs(batch, kind)
        tensors = [torch.from_numpy(a) for a in feed]
        fns = {name: (lambda t=tensors, fn=fn: fn(*t)) for name, fn in torch_fns.items()}
        fns.update({name: (lambda f=feed, fn=fn: fn(*f)) for name, fn in ort_fns.items()})
        times = interleaved(fns, repeats_for(batch, repeats))
        rows[batch] = {name: summarise(t, batch) for name, t in times.items()}
    return rows


def print_rows(title: str, rows: dict) -> None:
    print(f"\n{title}")
    print(f"{'batch':>5}  {'runtime':<22} {'p50 ms/call':>11} {'p95 ms/call':>11} {'min ms':>8} {'images/s':>9}")
    for batch, sides in rows.items():
        for side, r in sides.items():
            print(
                f"{batch:>5}  {side:<22} {r['p50_ms']:>11.2f} {r['p95_ms']:>11.2f} {r['min_ms']:>8.2f} "
                f"{r['images_per_s']:>9.1f}"
            )
        ort_row, torch_row = sides["onnxruntime"], sides["torch"]
        print(
            f"{'':>5}  onnxruntime / torch time: p50 {ort_row['p50_ms'] / torch_row['p50_ms']:.2f}x, "
            f"min {ort_row['min_ms'] / torch_row['min_ms']:.2f}x"
        )


def sweep(model: Path, kind: str, repeats: int) -> None:
    """onnxruntime session variants at batch 1, timed round-robin."""
    feed = dict(zip(["z", "labels", "mask"], inputs(1, kind), strict=False))
    levels = {
        "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
        "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
        "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
    }
    fns = {}
    for level_name, level in levels.items():
        for threads in sorted({1, physical_cores()}):
            for spinning in ("0", "1"):
                options = ort.SessionOptions()
                options.log_severity_level = 3
                options.graph_optimization_level = level
                options.intra_op_num_threads = threads
                options.inter_op_num_threads = 1
                options.add_session_config_entry("session.intra_op.allow_spinning", spinning)
                session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
                fns[f"opt={level_name:<8} threads={threads} spinning={spinning}"] = lambda s=session: s.run(None, feed)
    print("\nonnxruntime CPU session variants, batch 1:")
    for name, times in interleaved(fns, repeats).items():
        print(f"  {name}: p50 {statistics.median(times) * 1e3:7.2f} ms, min {min(times) * 1e3:7.2f} ms")


def cuda_section(generator: Generator, model: Path, kind: str, repeats: int) -> None:
    if not torch.cuda.is_available() or cuda_device_count() == 0:
        print(
            "\nCUDA: NOT MEASURED - no usable NVIDIA GPU on this machine "
            f"(torch.cuda.is_available()={torch.cuda.is_available()}, driver devices={cuda_device_count()})."
        )
        return
    device = torch.device("cuda")
    print(f"\nCUDA: {torch.cuda.get_device_name(0)}")
    for label, half, path in (("fp32", False, model), ("fp16", True, fp16_path(model))):
        graph = CoverGraph(generator, half=half, fuse=False).to(device).eval()
        engine = Engine.load(path, device="cuda")

        def torch_fn(*tensors, g=graph):
            out = g(*[t.to(device, non_blocking=True) for t in tensors]).cpu()
            return out

        rows = bench({"torch": torch.inference_mode()(torch_fn)}, {"onnxruntime": engine.run}, kind, repeats)
        print_rows(f"GPU {label}: torch eager vs onnxruntime CUDA provider ({engine.info.provider})", rows)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--resolution", type=int, nargs="+", default=[64])
    p.add_argument("--width", type=int, default=64)
    p.add_argument("--kind", choices=["unconditional", "acgan"], default="unconditional")
    p.add_argument("--repeats", type=int, default=40)
    p.add_argument("--sweep", action="store_true", help="also time onnxruntime session variants")
    p.add_argument("--cuda", action="store_true", help="GPU figures (torch CUDA vs onnxruntime CUDA, fp32/fp16)")
    args = p.parse_args(argv)

    threads = physical_cores()
    torch.set_num_threads(threads)
    print(
        f"machine: {platform.machine()} {os.cpu_count()} logical CPUs, {threads} physical cores used; "
        f"python {platform.python_version()}, torch {torch.__version__}, onnxruntime {ort.__version__}"
    )
    print(f"kind {args.kind}, width {args.width}, z_dim {Z_DIM}, {args.repeats} repeats at batch 1")
    for resolution in args.resolution:
        with tempfile.TemporaryDirectory() as tmp:
            checkpoint = Path(tmp) / "g.pt"
            generator = make_checkpoint(checkpoint, resolution, args.width, args.kind)
            start = time.perf_counter()
            exported = export_checkpoint(checkpoint, Path(tmp) / "g.onnx", fp16=args.cuda)
            print(
                f"\n== {resolution} px: {count_parameters(generator) / 1e6:.2f} M parameters, "
                f"exported in {time.perf_counter() - start:.1f} s, {exported[0].size_bytes / 1e6:.1f} MB; "
                + "; ".join(r.parity.summary() for r in exported)
            )
            engine = Engine.load(exported[0].path, device="cpu")
            plain = export_checkpoint(checkpoint, Path(tmp) / "plain.onnx", subpixel=False)[0]
            plain_engine = Engine.load(plain.path, device="cpu")
            # "torch" is the generator as trained; "(sub-pixel)" runs the rewrite the export
            # applies, "onnxruntime (plain)" an export without it: how much is the rewrite.
            torch_fns = {
                "torch": torch.inference_mode()(CoverGraph(generator, fuse=False).eval()),
                "torch (sub-pixel)": torch.inference_mode()(CoverGraph(generator).eval()),
            }
            ort_fns = {"onnxruntime": engine.run, "onnxruntime (plain)": plain_engine.run}
            rows = bench(torch_fns, ort_fns, args.kind, args.repeats)
            print_rows(f"CPU: torch eager vs onnxruntime ({threads} threads)", rows)
            if args.sweep:
                sweep(exported[0].path, args.kind, args.repeats)
            if args.cuda:
                cuda_section(generator, exported[0].path, args.kind, args.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
