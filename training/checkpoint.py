"""Checkpoints: atomic writes, safe loads, and the generator loader that export uses.

A checkpoint is a plain dict saved with `torch.save` and loaded with `weights_only=True`
(loading never runs code): state_dicts plus the constructor kwargs of each network, never
pickled classes. Layout (FORMAT version 1):

    format, version         "albumgan-checkpoint", 1
    kind                    "unconditional" | "acgan"
    step                    generator updates done
    generator, critic,      {"kwargs": constructor kwargs, "state": state_dict}
    generator_ema
    meta                    latent_prior, label_schema (dict or None), dataset (content_hash,
                            count, provenance), config (resolved training config), created
    training                optimiser/scaler states, RNG states, data order, images seen;
                            only what `--resume` needs (absent in exported-only files)

In a run directory checkpoints are `checkpoints/ckpt-000400.pt` with a `checkpoints/latest`
file naming the newest one; both are replaced atomically, so a crash mid-write leaves the
previous checkpoint and pointer intact (and a temp file, removed when the run resumes or next
prunes). `latest` may only name a checkpoint file in its own folder. A resume that finds its
latest checkpoint unreadable goes on from the newest one that loads, and says so.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import torch
from torch import nn

from albumgan.atomic import atomic_write, remove_temps, write_bytes
from albumgan.labels import LabelSchema, SchemaError
from albumgan.modelfile import ModelInfo, trained_ranges_of
from albumgan.training.architectures import GENERATORS, LEGACY_ARCH, build
from albumgan.training.projected import FROZEN_PREFIXES

log = logging.getLogger(__name__)

FORMAT = "albumgan-checkpoint"
VERSION = 1
KINDS = ("unconditional", "acgan")
LATEST = "latest"
_NAME = re.compile(r"^ckpt-(\d{6,})\.pt$")


class CheckpointError(RuntimeError):
    """A checkpoint that is missing, truncated or not ours."""


def save_checkpoint(path: str | os.PathLike, payload: dict) -> Path:
    """Write `payload` to `path` atomically (temp file in the same dir, fsync, os.replace)."""
    path = Path(path)
    return atomic_write(path, lambda f: torch.save(payload, f))


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises many types for truncated or foreign files
        # torch's own messages run to paragraphs (and may suggest weights_only=False, which
        # would run code from the file): one line saying what is wrong is enough
        raise CheckpointError(
            f"checkpoint {path} is unreadable: truncated, corrupt or not a torch checkpoint ({type(exc).__name__})"
        ) from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not an albumgan checkpoint")
    if payload.get("version") != VERSION:
        raise CheckpointError(f"{path}: checkpoint version {payload.get('version')!r} is not supported")
    if payload.get("kind") not in KINDS:
        raise CheckpointError(f"{path}: unknown model kind {payload.get('kind')!r}")
    return payload


def resolve_checkpoint(path: str | os.PathLike) -> Path:
    """A checkpoint file as given, or the one a run directory, its `checkpoints/` folder or
    its `latest` pointer stands for, so people can name a run instead of a step."""
    path = Path(path)
    if path.name == LATEST and path.is_file():
        path = path.parent
    if path.is_dir():
        folder = path / "checkpoints" if (path / "checkpoints").is_dir() else path
        found = latest_checkpoint(folder)
        if found is None:
            raise CheckpointError(f"{path} holds no checkpoint")
        return found
    return path


def load_generator(path: str | os.PathLike, ema: bool = True) -> tuple[nn.Module, ModelInfo]:
    """The generator (EMA weights by default) in eval mode on CPU, plus its metadata. `path`
    may also be a run directory or its `latest` pointer (see resolve_checkpoint)."""
    path = resolve_checkpoint(path)
    payload = load_checkpoint(path)
    which = "generator_ema" if ema else "generator"
    if which not in payload:
        raise CheckpointError(f"{path} has no {which} weights")
    try:
        generator = build(payload[which], GENERATORS).float()
    except (KeyError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"{path}: generator weights do not match their kwargs: {exc}") from exc
    generator.eval().requires_grad_(False)
    meta_in = payload.get("meta", {})
    try:
        schema_dict = meta_in.get("label_schema")
        schema = LabelSchema.from_dict(schema_dict) if schema_dict else None
        ranges = trained_ranges_of(meta_in.get("dataset", {}), schema)
    except SchemaError as exc:
        raise CheckpointError(f"{path}: {exc}") from exc
    meta = ModelInfo(
        kind=payload["kind"],
        name=path.stem,
        version=str(payload.get("step", 0)),
        step=int(payload.get("step", 0)),
        resolution=generator.resolution,
        z_dim=generator.z_dim,
        latent_prior=meta_in.get("latent_prior", "normal"),
        schema=schema,
        dataset=dict(meta_in.get("dataset", {})),
        trained_ranges=ranges,
        eval={},
        created=meta_in.get("created", ""),
        sha256="",
        path=path,
        provider="torch",
        format="checkpoint",
        training={
            "arch": payload[which].get("arch", LEGACY_ARCH),
            "kwargs": generator.config(),
            "config": dict(meta_in.get("config", {})),
            "lineage": list(meta_in.get("lineage") or [{"steps": int(payload.get("step", 0)), "minutes": None}]),
        },
    )
    return generator, meta


def training_artefact(payload: dict) -> dict:
    """A checkpoint slimmed to what continuing a shipped model needs, small enough for git:
    the EMA generator (what was shipped; it also starts the trained generator, stored once)
    and the discriminator's trainable part (a projected discriminator's backbone and random
    projections are rebuilt from its wheel and seed), floats in fp16, with all metadata
    (lineage included). No optimiser, RNG or data-order state: it is for `--fine-tune`
    (fresh optimisers), not `--resume`."""

    def half(state: dict) -> dict:
        return {k: v.half() if v.is_floating_point() else v for k, v in state.items()}

    critic = dict(payload["critic"])
    if critic.get("arch") == "projected":
        critic["state"] = {k: v for k, v in critic["state"].items() if not k.startswith(FROZEN_PREFIXES)}
    ema = {**payload["generator_ema"], "state": half(payload["generator_ema"]["state"])}
    slim = {k: v for k, v in payload.items() if k != "training"}
    # The same tensors under both names: torch.save writes shared storages once.
    slim |= {"generator": ema, "generator_ema": ema, "critic": {**critic, "state": half(critic["state"])}}
    return slim


def write_training_artefact(checkpoint: str | os.PathLike, out: str | os.PathLike) -> Path:
    """Write `training_artefact` of a checkpoint (or a run's latest) to `out`, atomically."""
    return save_checkpoint(out, training_artefact(load_checkpoint(resolve_checkpoint(checkpoint))))


# Run-directory helpers.


def checkpoint_name(step: int) -> str:
    return f"ckpt-{step:06d}.pt"


def write_latest(directory: Path, name: str) -> None:
    write_bytes(Path(directory) / LATEST, name.encode() + b"\n")


def list_checkpoints(directory: Path) -> list[Path]:
    """Checkpoint files in `directory`, oldest step first (temp files are ignored)."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in directory.iterdir() if (m := _NAME.match(p.name))]
    return [p for _, p in sorted(found)]


def latest_checkpoint(directory: Path) -> Path | None:
    """The file `latest` names, else the newest checkpoint file that loads."""
    directory = Path(directory)
    named = _named_by_pointer(directory)
    if named is not None:
        return named
    for path in reversed(list_checkpoints(directory)):
        try:
            load_checkpoint(path)
        except CheckpointError as exc:
            log.warning("skipping %s", exc)
            continue
        return path
    return None


def load_latest(directory: Path) -> tuple[Path, dict] | None:
    """The checkpoint to resume from and its payload: the one `latest` names, else the newest.
    One that does not load (truncated by a full disk or a crash) is skipped with a warning
    naming the one used instead, so that a run goes on from its previous checkpoint."""
    directory = Path(directory)
    named = _named_by_pointer(directory)
    newest_first = [p for p in reversed(list_checkpoints(directory)) if p != named]
    unreadable: list[str] = []
    for path in ([named] if named is not None else []) + newest_first:
        try:
            payload = load_checkpoint(path)
        except CheckpointError as exc:
            unreadable.append(str(exc))
            continue
        if unreadable:
            _warn_once(f"{'; '.join(unreadable)}: using {path.name} (step {payload.get('step')}) instead")
        return path, payload
    for problem in unreadable:
        _warn_once(problem)
    return None


def remove_stale_temps(directory: Path) -> None:
    """Delete the temp files of checkpoint writes that were killed (kill -9 mid-save leaves a
    whole checkpoint's worth each). Only while this run is the folder's one writer and not saving."""
    for path in remove_temps(directory):
        log.info("removed %s, left by a checkpoint write that was killed", path)


def prune_checkpoints(directory: Path, keep: int) -> None:
    """Delete stale temp files, and all but the newest `keep` checkpoints (never the one
    `latest` names)."""
    remove_stale_temps(directory)
    if keep <= 0:
        return
    newest = latest_checkpoint(directory)
    for path in list_checkpoints(directory)[:-keep]:
        if path != newest:
            path.unlink(missing_ok=True)


def _named_by_pointer(directory: Path) -> Path | None:
    """The checkpoint `latest` names, if it names an existing checkpoint file of `directory`;
    a path elsewhere ("../other-run/ckpt-000001.pt", "/tmp/x/ckpt-000001.pt") is refused."""
    pointer = directory / LATEST
    if not pointer.is_file():
        return None
    name = pointer.read_text(errors="replace").strip()
    if not _NAME.match(name):
        log.warning("%s names %r, not a checkpoint file in its folder: ignored; searching %s", pointer, name, directory)
        return None
    if not (directory / name).is_file():
        log.warning("%s names a missing checkpoint; searching %s", pointer, directory)
        return None
    return directory / name


_warned: set[str] = set()  # a resume looks for its checkpoint twice (the CLI for the config, the loop)


def _warn_once(message: str) -> None:
    if message not in _warned:
        _warned.add(message)
        log.warning("%s", message)
