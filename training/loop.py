"""The training loop: one function that reads top to bottom (after stylegan2-ada's
`training_loop.py`). Progress is counted in real images shown to the critic; a "step" is one
generator update (`loss.n_critic` critic updates before it).

Multi-process (torchrun): every rank holds full copies of the networks, sees its slice of
each global batch, and averages gradients with one all-reduce per update. This is
DistributedDataParallel's arithmetic without its module wrapper, because the gradient
penalty, R1 and LOGAN need double backward, which the wrapper does not support. Rank 0
writes checkpoints, samples and stats.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import logging
import math
import os
import random
import signal
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any, cast

import numpy as np
import torch
import torch.distributed as dist
from PIL import Image

from albumgan.atomic import atomic_write, write_bytes, write_json
from albumgan.latent import latents_from_seeds
from albumgan.training import checkpoint as ckpt
from albumgan.training.architectures import (
    DISCRIMINATORS,
    GENERATORS,
    LEGACY_ARCH,
    build,
    network_state,
)
from albumgan.training.config import Config, ModelConfig, OptimConfig
from albumgan.training.data.format import ShardedDataset
from albumgan.training.data.loader import BatchLoader
from albumgan.training.losses import GANLoss
from albumgan.training.monitor import ProgressBar, open_tensorboard
from albumgan.training.networks import GeneratorNetwork, to_uint8_nhwc

log = logging.getLogger(__name__)
SignalHandler = Callable[[int, FrameType | None], Any] | int | signal.Handlers | None

GRID_LABEL_SEED = 2026  # which real label rows condition the sample grid


class TrainingError(RuntimeError):
    """A run that cannot start or continue; the message says why."""


@dataclass
class RunResult:
    step: int
    images: int
    reason: str  # "steps" | "time" | "interrupted"
    checkpoint: Path | None


def training_loop(  # noqa: C901 (one readable function, by design)
    *,
    config: Config,  # resolved configuration (see training/config.py)
    data_dir: Path,  # dataset directory (training/data/format.py)
    run_dir: Path,  # output: config.json, checkpoints/, samples/, stats.jsonl
    resume: bool = False,  # continue from run_dir's latest checkpoint, exactly
    fine_tune: Path | None = None,  # start from this checkpoint's weights, fresh step and optimisers
    new_critic: bool = False,  # with fine_tune: keep only the generator, build the critic from config.model
    progress: bool = True,  # tqdm status line on rank 0
) -> RunResult:
    # Processes and device.
    rank, world, device = init_distributed(config.runtime.device)
    is_main = rank == 0
    cuda = device.type == "cuda"
    amp_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(config.runtime.amp) if cuda else None
    autocast = (lambda: torch.autocast("cuda", dtype=amp_dtype)) if amp_dtype else nullcontext
    if cuda:
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    memory_format = torch.channels_last if config.runtime.channels_last else torch.contiguous_format
    if config.runtime.threads:
        torch.set_num_threads(config.runtime.threads)

    # Starting point: a checkpoint to resume or fine-tune from.
    run_dir = Path(run_dir)
    ckpt_dir, sample_dir = run_dir / "checkpoints", run_dir / "samples"
    start = None
    if new_critic and fine_tune is None:
        raise TrainingError("a new critic goes with --fine-tune (a resumed run keeps its own)")
    if is_main:
        ckpt.remove_stale_temps(ckpt_dir)  # left by a run killed mid-save: they may be what filled the disk
    if resume:
        found = ckpt.load_latest(ckpt_dir)
        if found is None:
            raise TrainingError(f"nothing to resume: no readable checkpoint in {ckpt_dir}")
        path, start = found
        if "training" not in start:
            raise TrainingError(f"{path} has no training state to resume (use --fine-tune)")
        log.info("resuming from %s (step %d)", path, start["step"])
    elif fine_tune is not None:
        start = ckpt.load_checkpoint(fine_tune)
        if start["kind"] != config.model.kind:
            raise TrainingError(f"{fine_tune} is a {start['kind']} model; the config asks for {config.model.kind}")
        model = model_of_checkpoint(start, config.model, new_critic=new_critic)
        if model != config.model:
            log.info("the model shape and latent prior come from %s: %s", fine_tune, model)
        config = dataclasses.replace(config, model=model)
        log.info("fine-tuning from %s (step %d)%s", fine_tune, start["step"], ", new critic" if new_critic else "")

    # Dataset.
    dataset = ShardedDataset(data_dir, config.model.resolution)
    conditional = config.model.kind == "acgan"
    dataset_meta = {
        "content_hash": dataset.content_hash,
        "count": len(dataset),
        "provenance": dataset.manifest.get("provenance", {}),
    }
    if conditional:  # the bot moves a song's features into these (albumgan.labels.TrainedRanges)
        dataset_meta["label_ranges"] = dataset.label_ranges().to_dict()
    if resume and start is not None and start["meta"]["dataset"]["content_hash"] != dataset.content_hash:
        raise TrainingError(f"{data_dir} is not the dataset the run was trained on (use --fine-tune to switch)")

    # Networks (same seed on every rank, so the copies start equal).
    torch.manual_seed(config.train.seed)
    c_dim = len(dataset.schema) if conditional else 0
    g_entry, d_entry = (start["generator"], start["critic"]) if start is not None else network_entries(config, c_dim)
    if new_critic:
        d_entry = network_entries(config, c_dim)[1]
    g_size = g_entry["kwargs"]
    if g_size["resolution"] != dataset.resolution or (g_size["c_dim"] and g_size["c_dim"] != len(dataset.schema)):
        raise TrainingError(f"the checkpoint's model ({g_size}) does not fit the {dataset.resolution}px dataset")
    try:
        G = build(g_entry, GENERATORS, load_state=start is not None).to(device)
        D = build(d_entry, DISCRIMINATORS, load_state=start is not None and not new_critic).to(device)
        G_ema = build(start["generator_ema"], GENERATORS).to(device) if start is not None else copy.deepcopy(G)
    except ValueError as exc:
        raise TrainingError(f"cannot rebuild the networks: {exc}") from exc
    G_ema.eval().requires_grad_(False)
    for module in (G, D, G_ema):
        module.to(memory_format=memory_format)
        broadcast_parameters(module, world)

    # Optimisers and loss.
    opt_G = make_optimizer(G.parameters(), config, config.optim.g_lr)
    opt_D = make_optimizer([p for p in D.parameters() if p.requires_grad], config, config.optim.d_lr)
    scaler_G = torch.amp.GradScaler("cuda", enabled=amp_dtype == torch.float16)
    scaler_D = torch.amp.GradScaler("cuda", enabled=amp_dtype == torch.float16)
    G_fast, D_fast = (torch.compile(G), torch.compile(D)) if config.runtime.compile else (G, D)
    loss = GANLoss(G, D, config, autocast=autocast, G_fast=G_fast, D_fast=D_fast)
    reg_interval = loss.regulariser_interval
    n_critic, batch = config.loss.n_critic, config.train.batch_size
    per_rank = batch // world
    uniform = config.model.latent_prior == "uniform"

    # Data and noise.
    loader = BatchLoader(
        dataset,
        batch,
        device,
        seed=config.train.seed,
        rank=rank,
        world_size=world,
        cache_on_device_mb=config.runtime.cache_on_device_mb,
        channels_last=config.runtime.channels_last,
    )
    torch.manual_seed(config.train.seed * 1000 + rank + 1)  # noise differs across ranks
    step, images, seconds_before = 0, 0, 0.0
    lineage_before = earlier_segments(start, resume)
    steps_before = sum(int(segment["steps"]) for segment in lineage_before)  # the EMA's age at this run's step 0
    if resume and start is not None:
        train_state = start["training"]
        opt_G.load_state_dict(train_state["opt_G"])
        opt_D.load_state_dict(train_state["opt_D"])
        scaler_G.load_state_dict(train_state["scaler_G"])
        scaler_D.load_state_dict(train_state["scaler_D"])
        loader.sampler.load_state_dict(train_state["data"])
        step, images = int(start["step"]), int(train_state["images"])
        seconds_before = float(train_state.get("seconds", 0.0))
        loss.load_state_dict(train_state.get("loss", {}))
        set_rng_state(train_state["rng"], rank, world)

    # Run directory.
    if is_main:
        ckpt_dir.mkdir(parents=True, exist_ok=True)
        sample_dir.mkdir(parents=True, exist_ok=True)
        write_json(
            run_dir / "config.json",
            {"config": config.to_dict(), "data": str(data_dir), "world_size": world},
            sort_keys=True,
        )
        if resume:
            forget_stats_after(run_dir / "stats.jsonl", step)  # those steps are about to be redone
    board = open_tensorboard(  # only rank 0 writes, as for stats.jsonl
        run_dir, config.train.tensorboard if is_main else "off", resume_step=step if resume else None
    )

    # Fixed sample grid: seeded z and real label rows, so grids are comparable across steps.
    grid_z = torch.from_numpy(
        latents_from_seeds(list(range(config.train.grid)), G.z_dim, config.model.latent_prior)
    ).to(device)
    grid_rows = np.random.default_rng(GRID_LABEL_SEED).choice(
        len(dataset), config.train.grid, replace=len(dataset) < config.train.grid
    )
    grid_labels = loader.labels[torch.from_numpy(grid_rows).to(device)] if conditional else None
    grid_mask = loader.mask[torch.from_numpy(grid_rows).to(device)] if conditional else None

    def calibrate_ema() -> None:
        calibrate_batch_norm(
            G_ema,
            config.model.latent_prior,
            loader.labels if conditional else None,
            loader.mask if conditional else None,
        )

    def sample_grid() -> None:
        calibrate_ema()
        grid = save_grid(generate(G_ema, grid_z, grid_labels, grid_mask), sample_dir / f"fakes{step:06d}.png")
        board.picture("samples", grid, step)

    if is_main and not resume:
        reals = save_grid(
            torch.from_numpy(dataset.batch(grid_rows)).permute(0, 3, 1, 2).float() / 127.5 - 1, sample_dir / "reals.png"
        )
        board.picture("reals", reals, step)
        sample_grid()

    # Checkpoints.
    def snapshot() -> Path | None:
        states = gather_rng_states(world)  # collective: every rank takes part
        check_replicas_agree(G, world)
        if not is_main:
            return None
        calibrate_ema()
        seconds = seconds_before + time.monotonic() - t_start
        segment = {"dataset": dataset.content_hash, "steps": step, "minutes": round(seconds / 60, 2)}
        payload = {
            "format": ckpt.FORMAT,
            "version": ckpt.VERSION,
            "kind": config.model.kind,
            "step": step,
            "generator": network_state(G),
            "generator_ema": network_state(G_ema),
            "critic": network_state(D),
            "meta": {
                "latent_prior": config.model.latent_prior,
                "label_schema": dataset.schema.to_dict() if conditional else None,
                "dataset": dataset_meta,
                "config": config.to_dict(),
                "created": datetime.now(UTC).isoformat(timespec="seconds"),
                "lineage": lineage_before + [segment],  # this run and the runs it continues
            },
            "training": {
                "images": images,
                "seconds": seconds,
                "opt_G": opt_G.state_dict(),
                "opt_D": opt_D.state_dict(),
                "scaler_G": scaler_G.state_dict(),
                "scaler_D": scaler_D.state_dict(),
                "data": loader.sampler.state_dict(),
                "loss": loss.state_dict(),
                "rng": states,
                "world_size": world,
            },
        }
        path = ckpt.save_checkpoint(ckpt_dir / ckpt.checkpoint_name(step), payload)
        ckpt.write_latest(ckpt_dir, path.name)
        ckpt.prune_checkpoints(ckpt_dir, config.train.keep_checkpoints)
        return path

    # Interrupts: Ctrl-C / SIGTERM finish the current step, save and stop.
    interrupted = install_stop_handlers()

    # Training.
    t_start = time.monotonic()
    deadline = t_start + config.train.minutes * 60 if config.train.minutes else math.inf
    stats: dict[str, list[torch.Tensor]] = {}
    tick_time, tick_images = t_start, images
    last_saved = step if resume else None
    reason = "steps"
    stats_path = run_dir / "stats.jsonl"
    bar = ProgressBar(
        step=step,
        steps=config.train.steps,
        images=images,
        images_per_step=n_critic * batch,
        limit_s=config.train.minutes * 60,
        enabled=progress and is_main,
    )
    try:
        while step < config.train.steps:
            set_learning_rates(opt_G, opt_D, config.optim, step)

            # Critic updates.
            G.requires_grad_(False)
            D.requires_grad_(True)
            for i in range(n_critic):
                real, labels, mask = loader.next()
                z = sample_latents(per_rank, G.z_dim, uniform, device)
                gen_labels, gen_mask = (
                    loader.sample_conditions(per_rank, config.loss.feature_dropout) if conditional else (None, None)
                )
                due = reg_interval and (step * n_critic + i) % reg_interval == 0
                opt_D.zero_grad(set_to_none=True)
                d_loss, d_stats = loss.phase_loss(
                    "Dboth" if due else "D",
                    real=real,
                    labels=labels,
                    mask=mask,
                    z=z,
                    gen_labels=gen_labels,
                    gen_mask=gen_mask,
                    gain=reg_interval,
                )
                scaler_D.scale(d_loss).backward()
                average_gradients(D, world)
                scaler_D.step(opt_D)
                scaler_D.update()
                loss.clip_critic()
                images += batch
                accumulate(stats, d_stats)

            # Generator update.
            G.requires_grad_(True)
            D.requires_grad_(False)
            z = sample_latents(per_rank, G.z_dim, uniform, device)
            gen_labels, gen_mask = (
                loader.sample_conditions(per_rank, config.loss.feature_dropout) if conditional else (None, None)
            )
            opt_G.zero_grad(set_to_none=True)
            g_loss, g_stats = loss.phase_loss("G", z=z, gen_labels=gen_labels, gen_mask=gen_mask)
            scaler_G.scale(g_loss).backward()
            average_gradients(G, world)
            scaler_G.step(opt_G)
            scaler_G.update()
            accumulate(stats, g_stats)

            # EMA generator (decay warmed up so early snapshots are not the random init; a
            # fine-tune's EMA is as old as its starting model, so it keeps its average).
            age = steps_before + step
            update_ema(G_ema, G, min(config.train.ema, (1 + age) / (10 + age)))
            step += 1
            bar.advance(step, images)

            # Stats.
            if step % config.train.log_every == 0 or step == config.train.steps:
                now = time.monotonic()
                line = {
                    "step": step,
                    "images": images,
                    "seconds": round(now - t_start, 2),
                    "images_per_s": round((images - tick_images) / max(now - tick_time, 1e-9), 2),
                }
                line |= {k: round(torch.stack(v).float().mean().item(), 5) for k, v in sorted(stats.items())}
                stats.clear()
                tick_time, tick_images = now, images
                if is_main:
                    with open(stats_path, "a") as f:
                        f.write(json.dumps(line) + "\n")
                    board.scalars(line, step)
                    bar.set_postfix({k: line[k] for k in ("D/adv", "G/adv", "images_per_s") if k in line})
                    if bar.disable:
                        log.info(
                            "step %d, %d images, %.1f img/s, %s",
                            step,
                            images,
                            line["images_per_s"],
                            ", ".join(f"{k} {v:.4g}" for k, v in line.items() if "/" in k),
                        )

            # Samples.
            if is_main and step % config.train.sample_every == 0:
                sample_grid()

            # Stop conditions (agreed across ranks so that all of them save together).
            stop = agree_any([interrupted.is_set(), time.monotonic() >= deadline], world, device)
            if stop[0]:
                reason = "interrupted"
            elif stop[1]:
                reason = "time"

            # Checkpoint.
            if step % config.train.checkpoint_every == 0 or reason != "steps" or step == config.train.steps:
                snapshot()
                last_saved = step
                if reason != "steps":
                    break

        # Final samples.
        if is_main and step % config.train.sample_every:
            sample_grid()
    finally:
        bar.close()
        board.close()
        interrupted.restore()

    final = ckpt.latest_checkpoint(ckpt_dir) if is_main and last_saved is not None else None
    log.info("stopped (%s) at step %d, %d images", reason, step, images)
    return RunResult(step=step, images=images, reason=reason, checkpoint=final)


# Helpers used by the loop.


def network_entries(config: Config, c_dim: int) -> tuple[dict, dict]:
    """Checkpoint-style {"arch", "kwargs"} for a new run's generator and discriminator."""
    m = config.model
    g = {"z_dim": m.z_dim, "resolution": m.resolution, "width": m.g_width, "c_dim": c_dim}
    d = {"resolution": m.resolution, "width": m.d_width, "c_dim": c_dim}
    if m.discriminator == "projected":
        d |= {
            "projection": m.d_projection,
            "aux": config.loss.aux_weight > 0,
            "projection_seed": config.train.seed,
            "backbone_resolution": m.d_backbone_resolution,
        }
    return {"arch": m.generator, "kwargs": g}, {"arch": m.discriminator, "kwargs": d}


def model_of_checkpoint(start: dict, model: ModelConfig, *, new_critic: bool = False) -> ModelConfig:
    """The model section a fine-tune inherits: the checkpoint's architecture and sizes (the
    critic's from `model` instead when it starts anew)."""
    g, d = start["generator"], start["critic"]
    inherited = dataclasses.replace(
        model,
        generator=g.get("arch", LEGACY_ARCH),
        resolution=g["kwargs"]["resolution"],
        z_dim=g["kwargs"]["z_dim"],
        g_width=g["kwargs"]["width"],
        latent_prior=start["meta"]["latent_prior"],
    )
    if new_critic:
        return inherited
    return dataclasses.replace(
        inherited,
        discriminator=d.get("arch", LEGACY_ARCH),
        d_width=d["kwargs"]["width"],
        d_projection=bool(d["kwargs"].get("projection", False)),
        d_backbone_resolution=int(d["kwargs"].get("backbone_resolution", 0)),
    )


def earlier_segments(start: dict | None, resume: bool) -> list[dict]:
    """The training segments before this run's: a resumed run continues its own last one; a
    fine-tune adds one after all of its starting checkpoint's (older files: its step count)."""
    if start is None:
        return []
    lineage = start["meta"].get("lineage")
    if lineage is None:
        lineage = [{"dataset": start["meta"]["dataset"]["content_hash"], "steps": int(start["step"]), "minutes": None}]
    return list(lineage[:-1] if resume else lineage)


@torch.no_grad()
def calibrate_batch_norm(G: GeneratorNetwork, prior: str, labels, mask, *, images: int = 512, batch: int = 64) -> None:
    """Recompute the BatchNorm statistics of an EMA generator for its own weights (SWA's
    `update_bn`): update_ema copies them from the trained G, whose weights they fit, and an
    eval-mode EMA model with them draws washed-out samples. Seeded privately, so the run's
    RNG streams (and exact resume) are untouched; a no-op without BatchNorm."""
    norms = [m for m in G.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    device = next(G.parameters()).device
    rng = torch.Generator().manual_seed(GRID_LABEL_SEED)
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the calibration batches
    G.train()
    for _ in range(0, images, batch):
        z = (
            torch.rand(batch, G.z_dim, generator=rng) * 2 - 1
            if prior == "uniform"
            else torch.randn(batch, G.z_dim, generator=rng)
        )
        rows = torch.randint(len(labels), (batch,), generator=rng).to(device) if labels is not None else None
        G(z.to(device), None if rows is None else labels[rows], None if rows is None else mask[rows])
    G.eval()
    for m, momentum in zip(norms, momenta, strict=True):
        m.momentum = momentum


def init_distributed(device_name: str) -> tuple[int, int, torch.device]:
    """(rank, world size, device); joins the torchrun process group when there is one."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device_name == "auto":
        device_name = "cuda" if torch.cuda.is_available() else "cpu"
    if device_name.startswith("cuda") and not torch.cuda.is_available():
        raise TrainingError(f"device {device_name!r} requested but CUDA is not available")
    device = torch.device(device_name)
    if device.type == "cuda":
        device = torch.device("cuda", device.index if device.index is not None and world == 1 else local_rank)
        torch.cuda.set_device(device)
    if world > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return rank, world, device


def set_learning_rates(opt_G, opt_D, optim: OptimConfig, step: int) -> None:
    """Both optimisers at their configured rates, scaled by the warm-up ramp at this step. Set
    every step, so a resumed run takes the rates of its (possibly --set) config, not its
    checkpoint's."""
    ramp = min(1.0, (step + 1) / optim.warmup_steps) if optim.warmup_steps else 1.0
    for optimiser, lr in ((opt_G, optim.g_lr), (opt_D, optim.d_lr)):
        for group in optimiser.param_groups:
            group["lr"] = lr * ramp


def make_optimizer(params, config: Config, lr: float) -> torch.optim.Optimizer:
    if config.optim.kind == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr)
    beta1, beta2 = config.optim.betas
    return torch.optim.Adam(params, lr=lr, betas=(beta1, beta2))


def sample_latents(n: int, z_dim: int, uniform: bool, device: torch.device) -> torch.Tensor:
    if uniform:
        return torch.rand(n, z_dim, device=device) * 2 - 1
    return torch.randn(n, z_dim, device=device)


def broadcast_parameters(module: torch.nn.Module, world: int) -> None:
    if world > 1:
        for tensor in list(module.parameters()) + list(module.buffers()):
            dist.broadcast(tensor.data, src=0)


def average_gradients(module: torch.nn.Module, world: int) -> None:
    """All-reduce every gradient in one flat buffer (what DDP's reducer does in buckets)."""
    if world == 1:
        return
    grads = [p.grad for p in module.parameters() if p.grad is not None]
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= world
    for grad, part in zip(grads, flat.split([g.numel() for g in grads]), strict=True):
        grad.copy_(part.view_as(grad))


def check_replicas_agree(module: torch.nn.Module, world: int) -> None:
    """Every rank must hold the same weights; a silent divergence would waste a run."""
    if world == 1:
        return
    device = collective_device(next(module.parameters()).device)
    checksum = torch.stack([p.detach().double().sum() for p in module.parameters()]).sum().reshape(1).to(device)
    sums = [torch.zeros_like(checksum) for _ in range(world)]
    dist.all_gather(sums, checksum)
    if any(not torch.equal(s, sums[0]) for s in sums):
        raise TrainingError(f"replicas diverged: generator checksums {[s.item() for s in sums]}")


def collective_device(device: torch.device) -> torch.device:
    """gloo reduces CPU tensors, nccl CUDA tensors."""
    return device if dist.get_backend() == "nccl" else torch.device("cpu")


def agree_any(flags: list[bool], world: int, device: torch.device) -> list[bool]:
    """Each flag is true on every rank if it is true on any (stop together, save together)."""
    if world == 1:
        return flags
    tensor = torch.tensor([float(f) for f in flags], device=collective_device(device))
    dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
    return [bool(v) for v in tensor.tolist()]


@torch.no_grad()
def update_ema(ema: torch.nn.Module, model: torch.nn.Module, decay: float) -> None:
    torch._foreach_lerp_(list(ema.parameters()), list(model.parameters()), 1.0 - decay)
    for b_ema, b in zip(ema.buffers(), model.buffers(), strict=True):
        b_ema.copy_(b)


@torch.no_grad()
def generate(G: torch.nn.Module, z: torch.Tensor, labels, mask, batch: int = 64) -> torch.Tensor:
    parts = []
    for i in range(0, len(z), batch):
        parts.append(
            G(
                z[i : i + batch],
                None if labels is None else labels[i : i + batch],
                None if mask is None else mask[i : i + batch],
            )
            .float()
            .cpu()
        )
    return torch.cat(parts)


def accumulate(stats: dict[str, list[torch.Tensor]], values: dict[str, torch.Tensor]) -> None:
    for key, value in values.items():
        stats.setdefault(key, []).append(value)


def rng_state() -> dict:
    # legacy=True (the default) always gives the tuple form
    kind, keys, pos, has_gauss, gauss = cast(tuple, np.random.get_state(legacy=True))
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "python": random.getstate(),
        "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, gauss],
    }


def gather_rng_states(world: int) -> list[dict]:
    state = rng_state()
    if world == 1:
        return [state]
    states: list = [None] * world
    dist.all_gather_object(states, state)
    return states


def set_rng_state(states: list[dict], rank: int, world: int) -> None:
    if len(states) != world:
        log.warning("checkpoint was written by %d processes, now %d: noise streams restart", len(states), world)
        return
    state = states[rank]
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    random.setstate(tuple(tuple(x) if isinstance(x, list) else x for x in state["python"]))
    kind, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))


class StopFlag:
    """Set by SIGINT/SIGTERM; `restore()` puts the previous handlers back."""

    def __init__(self) -> None:
        self._set = False
        self._previous: dict[int, SignalHandler] = {}

    def is_set(self) -> bool:
        return self._set

    def handle(self, signum, frame) -> None:
        if self._set:  # a second Ctrl-C stops at once
            raise KeyboardInterrupt
        log.warning("signal %d: saving a checkpoint after this step (again to abort)", signum)
        self._set = True

    def restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()


def install_stop_handlers() -> StopFlag:
    flag = StopFlag()
    try:
        for signum in (signal.SIGINT, signal.SIGTERM):
            flag._previous[signum] = signal.signal(signum, flag.handle)
    except ValueError:  # not the main thread: no signal handling
        flag.restore()
    return flag


def forget_stats_after(path: Path, step: int) -> None:
    if path.is_file():
        kept = [line for line in path.read_text().splitlines(keepends=True) if json.loads(line)["step"] <= step]
        write_bytes(path, "".join(kept).encode())


def save_grid(images: torch.Tensor, path: Path) -> np.ndarray:
    """NCHW images in [-1, 1] -> one PNG, as square a grid as the count allows; returns its HWC pixels."""
    n, _, h, w = images.shape
    cols = math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    pixels = to_uint8_nhwc(images).numpy()
    canvas = np.zeros((rows * h, cols * w, 3), dtype=np.uint8)
    for i, image in enumerate(pixels):
        r, c = divmod(i, cols)
        canvas[r * h : (r + 1) * h, c * w : (c + 1) * w] = image
    atomic_write(path, lambda f: Image.fromarray(canvas).save(f, format="PNG"))
    return canvas
