"""CoverService under load: N concurrent /random requests from M users through the fair
queue and the batching ModelRunner (no chat frontend, no network).

    python benchmarks/service_load.py --model models/unconditional-64.onnx --requests 200 --users 20

Without --model a tiny generator (16 px, width 8) is exported to a temp dir first (needs
the train extra). Prints requests/s and p50/p95 latency; every request must succeed.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import statistics
import tempfile
import time
from pathlib import Path

from albumgan.bot.config import BotConfig, DatabaseConfig, LimitsConfig, ModelsConfig
from albumgan.bot.service import CoverService
from albumgan.bot.types import Requester


def tiny_model(folder: Path) -> Path:
    import torch

    from albumgan.export.onnx_export import export_checkpoint
    from albumgan.training.architectures import network_state
    from albumgan.training.checkpoint import FORMAT, VERSION, save_checkpoint
    from albumgan.training.networks import Generator

    torch.manual_seed(0)
    generator = Generator(z_dim=16, resolution=16, width=8)
    state = network_state(generator)
    ckpt = save_checkpoint(
        folder / "tiny.pt",
        {
            "format": FORMAT,
            "version": VERSION,
            "kind": "unconditional",
            "step": 0,
            "generator": state,
            "generator_ema": state,
            "meta": {
                "latent_prior": "normal",
                "label_schema": None,
                "config": {},
                "dataset": {"content_hash": "bench", "count": 0, "provenance": {}},
                "created": "2026-11-25T00:00:00+00:00",
            },
        },
    )
    return export_checkpoint(ckpt, folder / "tiny-16.onnx")[0].path


async def run(model: Path, folder: Path, requests: int, users: int, workers: int) -> None:
    config = BotConfig(
        models=ModelsConfig(unconditional=str(model), acgan=str(folder / "none.onnx")),
        limits=dataclasses.replace(
            LimitsConfig(), cooldown_s=0.0, queue_size=requests, per_user_queued=requests, workers=workers
        ),
        database=DatabaseConfig(path=str(folder / "bench.sqlite3")),
        base_dir=str(folder),
    )
    service = CoverService.from_config(config)
    await service.start()
    await service.random(Requester("bench", "warmup"), seed=0)
    latencies: list[float] = []

    async def one(i: int) -> None:
        start = time.perf_counter()
        await service.random(Requester("bench", f"user{i % users}"), seed=i)
        latencies.append(time.perf_counter() - start)

    began = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(requests)))
    wall = time.perf_counter() - began
    runs = service.models.runners["unconditional"].runs
    await service.close()
    q = statistics.quantiles(latencies, n=20)
    print(f"model {model.name}: {requests} requests from {users} users, {workers} workers")
    print(
        f"  {requests / wall:.1f} covers/s, p50 {statistics.median(latencies) * 1000:.0f} ms, "
        f"p95 {q[18] * 1000:.0f} ms, {runs - 1} model runs (batching), 0 lost"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="an unconditional .onnx (default: tiny)")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        model = args.model or tiny_model(folder)
        asyncio.run(run(model, folder, args.requests, args.users, args.workers))


if __name__ == "__main__":
    main()
