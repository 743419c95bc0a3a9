"""`albumgan-train` (also `python -m albumgan.training`, and `torchrun ... -m albumgan.training`).

    albumgan-train --config acgan-64 --data DATASET --out runs/NAME [--steps N] [--minutes M]
                   [--resume] [--fine-tune FROM.pt] [--device cuda] [--set loss.kind=hinge ...]

`--config` takes a TOML file or a recipe name from training/configs/. `--resume` continues
the run in --out with the config stored in its checkpoint (flags still override); --data
defaults to the dataset the run was started on. Exit codes: 0 done (steps or time limit),
2 bad input (one line on stderr), 130 interrupted (a checkpoint was saved).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

import torch.distributed as dist

from albumgan.labels import SchemaError
from albumgan.logsafe import configure_logging
from albumgan.training import checkpoint as ckpt
from albumgan.training.checkpoint import CheckpointError
from albumgan.training.config import (
    ConfigError,
    config_from_dict,
    load_config,
    merge,
    parse_assignment,
)
from albumgan.training.data.format import DatasetError
from albumgan.training.loop import TrainingError, training_loop
from albumgan.training.projected import BackboneUnavailable

log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="albumgan-train", description="Train an album-cover GAN.")
    p.add_argument("--config", help="TOML file or recipe name (training/configs/NAME.toml)")
    p.add_argument("--data", type=Path, help="dataset directory (training/data/format.py)")
    p.add_argument("--out", type=Path, required=True, help="run directory")
    p.add_argument("--steps", type=int, help="train until this many generator steps")
    p.add_argument("--minutes", type=float, help="stop after this much wall-clock time")
    p.add_argument("--device", help="auto | cpu | cuda | cuda:N")
    p.add_argument("--batch-size", type=int, help="global batch size")
    p.add_argument(
        "--set", action="append", default=[], metavar="SECTION.KEY=VALUE", help="override a config key (repeatable)"
    )
    start = p.add_mutually_exclusive_group()
    start.add_argument("--resume", action="store_true", help="continue the run in --out exactly")
    start.add_argument("--fine-tune", type=Path, metavar="CKPT", help="start from a checkpoint's weights")
    p.add_argument(
        "--new-critic",
        action="store_true",
        help="with --fine-tune: keep the generator, start a new critic from the config's model.d_* keys",
    )
    p.add_argument("--dry-run", action="store_true", help="print the resolved config and exit")
    p.add_argument("--progress", choices=("auto", "on", "off"), default="auto", help="tqdm status line")
    p.add_argument("-v", "--verbose", action="store_true")
    return p


def flag_overrides(args: argparse.Namespace) -> list[dict]:
    overrides = [parse_assignment(text) for text in args.set]
    flags = {
        ("train", "steps"): args.steps,
        ("train", "minutes"): args.minutes,
        ("runtime", "device"): args.device,
        ("train", "batch_size"): args.batch_size,
    }
    overrides += [{section: {key: value}} for (section, key), value in flags.items() if value is not None]
    return overrides


def resolve(args: argparse.Namespace):
    """(config, data dir) from the flags, or from the run being resumed."""
    overrides = flag_overrides(args)
    data = args.data
    if args.resume:
        if args.config:
            raise ConfigError(
                "--resume takes the config from the run's checkpoint; drop --config (use --set to change keys)"
            )
        latest = ckpt.load_latest(args.out / "checkpoints")
        if latest is None:
            raise ConfigError(f"nothing to resume: no readable checkpoint in {args.out / 'checkpoints'}")
        data_dict = latest[1]["meta"]["config"]
        for override in overrides:
            data_dict = merge(data_dict, override)
        config = config_from_dict(data_dict)
        if data is None:
            run_config = args.out / "config.json"
            data = Path(json.loads(run_config.read_text())["data"]) if run_config.is_file() else None
    else:
        if not args.config:
            raise ConfigError("--config is required (a TOML file or a recipe name such as unconditional-64)")
        if (args.out / "checkpoints").is_dir() and any((args.out / "checkpoints").glob("ckpt-*.pt")):
            raise ConfigError(f"{args.out} already holds a run; pass --resume or choose another --out")
        config = load_config(args.config, overrides)
    if data is None:
        raise ConfigError("--data DATASET_DIR is required")
    if not Path(data).is_dir():
        raise ConfigError(f"dataset directory {data} does not exist")
    return config, Path(data)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    rank = int(os.environ.get("RANK", "0"))
    configure_logging(
        level=logging.DEBUG if args.verbose else (logging.INFO if rank == 0 else logging.WARNING),
        format=f"%(asctime)s %(levelname)s [rank {rank}] %(name)s: %(message)s"
        if "WORLD_SIZE" in os.environ
        else "%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        config, data = resolve(args)
        if args.dry_run:
            print(json.dumps(config.to_dict(), indent=2))
            return 0
        progress = {"on": True, "off": False, "auto": sys.stderr.isatty()}[args.progress]
        result = training_loop(
            config=config,
            data_dir=data,
            run_dir=args.out,
            resume=args.resume,
            fine_tune=args.fine_tune,
            new_critic=args.new_critic,
            progress=progress,
        )
        if dist.is_initialized():
            dist.barrier()  # no rank tears gloo down while another is still in a collective (that aborts both)
    except (ConfigError, DatasetError, CheckpointError, SchemaError, TrainingError, BackboneUnavailable) as exc:
        print(f"albumgan-train: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("albumgan-train: aborted without saving", file=sys.stderr)
        return 130
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
    if result.reason == "interrupted":
        print(
            f"albumgan-train: interrupted at step {result.step}; resume with --resume --out {args.out}", file=sys.stderr
        )
        return 130
    log.info("done: step %d, %d images, checkpoint %s", result.step, result.images, result.checkpoint)
    return 0
