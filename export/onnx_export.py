"""Checkpoint -> self-describing, parity-checked ONNX file (see docs/MODELS.md).

Exporter: torch's dynamo exporter (`torch.onnx.export(..., dynamo=True)`), the default and
maintained path in torch 2.9+. On this generator it keeps the image size static and only
the batch axis symbolic, emits opset 20 (onnxruntime 1.31 runs up to 23) and, with
`external_data=False`, one self-contained file. The legacy TorchScript exporter also
works but is deprecated, capped at opset 17 and loses the static height/width. Either
exporter can have bugs, which is why every export is compared with torch numerically.

Speed: nearest-upsample + 3x3 conv pairs are exported as equivalent sub-pixel convs
(export/upconv.py), 2.25x fewer multiply-adds; parity is checked against the unmodified
generator.

The uint8 conversion ((x + 1) * 127.5, round half to even, clamp to [0, 255], NCHW ->
NHWC) is part of the graph, so every consumer gets display-ready RGB and none repeats it.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import os
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import cast

import onnx
import onnxruntime as ort
import torch
from torch import nn
from torch.nn.utils import parametrize

from albumgan.atomic import fsync_dir, write_temp
from albumgan.export.errors import ExportError
from albumgan.export.metadata import build_metadata, weights_sha256
from albumgan.export.parity import (
    FP16_TOLERANCE,
    FP32_TOLERANCE,
    ParityReport,
    check_dynamic_batch,
    check_parity,
)
from albumgan.export.upconv import fuse_upsample_conv
from albumgan.modelfile import (
    INPUT_LABELS,
    INPUT_MASK,
    INPUT_Z,
    OUTPUT_IMAGE,
    ModelError,
    ModelInfo,
    describe_session,
)
from albumgan.training.checkpoint import CheckpointError, load_generator
from albumgan.training.data.format import DatasetError, ShardedDataset
from albumgan.training.networks import to_uint8_nhwc

log = logging.getLogger(__name__)

OPSET = 20
EXAMPLE_BATCH = 2  # torch.export specialises a batch of 1, freezing the axis
MAX_BATCH = 4096
PRODUCER = "albumgan-export"


def bake_parametrizations(generator: nn.Module) -> nn.Module:
    """Replace, in place, every parametrization (spectral norm) by the weight it computes in
    eval mode, so the graph holds plain weights instead of the normalisation arithmetic.
    In place because deep copies of parametrized modules share state with the original."""
    generator.eval()
    for module in list(generator.modules()):
        if parametrize.is_parametrized(module):
            for name in list(cast(nn.ModuleDict, module.parametrizations).keys()):
                parametrize.remove_parametrizations(module, name, leave_parametrized=True)
    return generator


class CoverGraph(nn.Module):
    """What the ONNX file computes: the generator (by default with its upsample + conv
    pairs rewritten as sub-pixel convs, see export/upconv.py), optionally in fp16 (float32
    inputs are cast inside, so callers never change), then the uint8 image (or, for
    parity checks, the raw [-1, 1] float output). The generator passed in is not changed."""

    def __init__(self, generator: nn.Module, *, quantise: bool = True, half: bool = False, fuse: bool = True):
        super().__init__()
        network = fuse_upsample_conv(generator)[0] if fuse else copy.deepcopy(generator)
        self.generator = network.half() if half else network
        self.quantise = quantise
        self.fp16 = half

    def forward(
        self, z: torch.Tensor, labels: torch.Tensor | None = None, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        if self.fp16:
            z = z.half()
            labels = None if labels is None else labels.half()
            mask = None if mask is None else mask.half()
        images = self.generator(z, labels, mask).float()
        return to_uint8_nhwc(images) if self.quantise else images


def to_onnx(graph: CoverGraph, conditional: bool, z_dim: int, c_dim: int) -> onnx.ModelProto:
    """Trace `graph` with a dynamic batch axis into an in-memory ONNX model."""
    names = [INPUT_Z, INPUT_LABELS, INPUT_MASK] if conditional else [INPUT_Z]
    example = [torch.zeros(EXAMPLE_BATCH, z_dim)]
    if conditional:
        example += [torch.zeros(EXAMPLE_BATCH, c_dim), torch.ones(EXAMPLE_BATCH, c_dim)]
    batch = torch.export.Dim("batch", min=1, max=MAX_BATCH)
    output_name = OUTPUT_IMAGE if graph.quantise else "raw"
    with warnings.catch_warnings():
        # All inputs share the one batch axis; torch warns that the name is reused.
        warnings.filterwarnings("ignore", message=r"# The axis name: .* will not be used", category=UserWarning)
        try:
            program = torch.onnx.export(
                graph.eval(),
                tuple(example),
                dynamo=True,
                input_names=names,
                output_names=[output_name],
                dynamic_shapes=tuple({0: batch} for _ in names),
                opset_version=OPSET,
                external_data=False,
                optimize=True,
                verbose=False,
            )
        except Exception as exc:  # torch.export raises many types; the first line says why
            raise ExportError(f"torch.onnx.export failed: {str(exc).strip().splitlines()[0]}") from exc
    if program is None:  # only None when exporting to a file path, which this never does
        raise ExportError("torch.onnx.export returned no program")
    return program.model_proto


@dataclass(frozen=True)
class ExportedModel:
    path: Path
    info: ModelInfo
    parity: ParityReport
    size_bytes: int


def fp16_path(out: Path) -> Path:
    """models/NAME.onnx -> models/NAME.fp16.onnx"""
    return out.with_name(f"{out.stem}.fp16{out.suffix}")


def _build_variant(
    generator: nn.Module,
    meta: ModelInfo,
    props: dict[str, str],
    *,
    half: bool,
    subpixel: bool,
    tolerance: float,
    source: str,
) -> tuple[bytes, ParityReport]:
    """Export, describe, check (onnx.checker, dynamic batch, parity): the finished bytes."""
    conditional = meta.kind == "acgan"
    c_dim = len(meta.schema) if meta.schema is not None else 0
    model = to_onnx(CoverGraph(generator, half=half, fuse=subpixel), conditional, meta.z_dim, c_dim)
    model.producer_name = PRODUCER
    onnx.helper.set_model_props(model, props)
    try:
        onnx.checker.check_model(model, full_check=True)
    except onnx.checker.ValidationError as exc:
        raise ExportError(f"{source}: onnx.checker rejected the graph: {str(exc).splitlines()[0]}") from exc
    check_dynamic_batch(model, source)
    float_graph = CoverGraph(generator, quantise=False, half=half, fuse=subpixel)
    float_model = to_onnx(float_graph, conditional, meta.z_dim, c_dim)
    image_bytes = model.SerializeToString()
    # The references are the generator exactly as trained: no rewrite, fp32.
    report = check_parity(
        CoverGraph(generator, quantise=False, fuse=False),
        CoverGraph(generator, fuse=False),
        float_model.SerializeToString(),
        image_bytes,
        z_dim=meta.z_dim,
        prior=meta.latent_prior,
        schema=meta.schema,
        precision="fp16" if half else "fp32",
        tolerance=tolerance,
        source=source,
    )
    return image_bytes, report


def _with_trained_ranges(meta: ModelInfo, dataset: str | os.PathLike | None) -> ModelInfo:
    """`meta` with the trained ranges of a conditional model: its own, else `dataset`'s when
    that is the data it was trained on. Without either the file is still valid, but the bot
    passes song features to it unclipped, so say so."""
    if meta.schema is None or meta.trained_ranges.bounds:
        return meta
    if dataset is None:
        log.warning(
            "%s records no trained feature ranges (trained before they were recorded): pass --data "
            "with its training dataset, or the bot will feed songs' features to it unclipped",
            meta.path,
        )
        return meta
    try:
        data = ShardedDataset(dataset, meta.resolution)
    except DatasetError as exc:
        raise ExportError(str(exc)) from exc
    if data.content_hash != meta.dataset.get("content_hash"):
        raise ExportError(
            f"{dataset} (content hash {data.content_hash[:12]}) is not the dataset {meta.path} was trained on "
            f"({str(meta.dataset.get('content_hash'))[:12]})"
        )
    ranges = data.label_ranges()
    return replace(meta, trained_ranges=ranges, dataset={**meta.dataset, "label_ranges": ranges.to_dict()})


def export_checkpoint(
    checkpoint: str | os.PathLike,
    out: str | os.PathLike,
    *,
    name: str | None = None,
    version: str | None = None,
    fp16: bool = False,
    eval_figures: dict | None = None,
    ema: bool = True,
    tolerance: float = FP32_TOLERANCE,
    fp16_tolerance: float = FP16_TOLERANCE,
    subpixel: bool = True,
    dataset: str | os.PathLike | None = None,
) -> list[ExportedModel]:
    """Export a checkpoint's (EMA) generator to `out` (and, with fp16, `NAME.fp16.onnx`).

    All variants are built and checked in temporary files next to `out` first and moved
    into place only when every check passed; on any failure nothing at the target paths
    changes and no temporary file is left behind. `subpixel=False` exports upsample + conv
    as they are (bigger FLOP count, smaller file). `dataset`, the checkpoint's own training
    data, supplies the trained feature ranges of a conditional checkpoint that predates them."""
    out = Path(out)
    if out.suffix != ".onnx":
        raise ExportError(f"output {out} must end in .onnx")
    if tolerance <= 0 or fp16_tolerance <= 0:
        raise ExportError("parity tolerances must be positive")
    try:
        generator, meta = load_generator(checkpoint, ema=ema)
    except CheckpointError as exc:
        raise ExportError(str(exc)) from exc
    meta = _with_trained_ranges(meta, dataset)
    bake_parametrizations(generator)
    name = name or out.stem
    sha = weights_sha256(generator)
    version = version or f"{meta.step}-{sha[:8]}"
    out.parent.mkdir(parents=True, exist_ok=True)
    variants = [(out, False, tolerance)] + ([(fp16_path(out), True, fp16_tolerance)] if fp16 else [])
    temps: list[Path] = []
    staged: list[tuple[Path, Path, ParityReport, ModelInfo]] = []
    try:
        for target, half, tol in variants:
            try:
                props = build_metadata(
                    meta,
                    name=name,
                    version=version,
                    weights_sha256=sha,
                    eval_figures=eval_figures,
                    precision="fp16" if half else "fp32",
                    source=str(checkpoint),
                )
            except ModelError as exc:
                raise ExportError(str(exc)) from exc
            data, report = _build_variant(
                generator, meta, props, half=half, subpixel=subpixel, tolerance=tol, source=str(target)
            )
            log.info("%s: %s", target, report.summary())
            tmp = write_temp(out.parent, target.name, data)
            temps.append(tmp)
            try:  # the file must pass the contract the bot's engine loads by before it is published
                session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
                info = replace(
                    describe_session(session, str(tmp)), path=tmp, file_sha256=hashlib.sha256(data).hexdigest()
                )
            except ModelError as exc:
                raise ExportError(f"{target}: the exported file breaks the model-file contract: {exc}") from exc
            staged.append((tmp, target, report, info))
        for tmp, target, _, _ in staged:
            os.replace(tmp, target)
        fsync_dir(out.parent)
        return [
            ExportedModel(target, replace(info, path=target), report, target.stat().st_size)
            for _, target, report, info in staged
        ]
    finally:
        for tmp in temps:
            tmp.unlink(missing_ok=True)
