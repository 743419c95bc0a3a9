"""Does the ONNX file compute what the torch generator computes?

Two comparisons on the same inputs (z from `latents_from_seeds`, labels from
realistic raw feature rows with some values missing), at several batch sizes:

* float: a graph exported without the uint8 step against the torch generator's
  [-1, 1] output, max absolute error must stay within `tolerance`;
* image: the shipped uint8 graph against the same quantisation done in torch, at most
  `level_tolerance` levels apart (rounding near a .5 boundary may flip one level).

The fp16 variant is compared with the fp32 torch model, so its report says what the
lower precision costs, not how fp16 torch and fp16 ORT agree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import onnx
import onnxruntime as ort
import torch

from albumgan.export.errors import ExportError
from albumgan.labels import LabelSchema
from albumgan.latent import latents_from_seeds

FP32_TOLERANCE = 1e-4
FP16_TOLERANCE = 3e-2
BATCH_SIZES = (1, 7)
MISSING_RATE = 0.25


class ParityError(ExportError):
    """ONNX output differs from torch by more than the tolerance."""


@dataclass(frozen=True)
class ParityReport:
    precision: str
    batch_sizes: tuple[int, ...]
    max_abs_error: float
    max_level_diff: int
    tolerance: float
    level_tolerance: int

    def summary(self) -> str:
        return (
            f"{self.precision} parity over batches {list(self.batch_sizes)}: max |onnx - torch| = "
            f"{self.max_abs_error:.3g} (tolerance {self.tolerance:g}), max uint8 difference "
            f"{self.max_level_diff} level(s) (tolerance {self.level_tolerance})"
        )


def level_tolerance(tolerance: float) -> int:
    """uint8 levels a float error of `tolerance` can move a pixel, plus one for rounding."""
    return math.ceil(tolerance * 127.5) + 1


def parity_inputs(
    batch: int, z_dim: int, prior: str, schema: LabelSchema | None, seed: int = 0
) -> dict[str, np.ndarray]:
    """Model inputs for `batch` rows: seeded z and, for a conditional model, labels from raw
    values spread over each feature's range with about a quarter of them missing."""
    feed = {"z": latents_from_seeds(list(range(seed, seed + batch)), z_dim, prior)}
    if schema is not None:
        rng = np.random.default_rng(seed)
        rows = [
            {
                f.name: (None if rng.random() < MISSING_RATE else float(rng.uniform(f.low, f.high)))
                for f in schema.features
            }
            for _ in range(batch)
        ]
        feed["labels"], feed["mask"] = schema.encode_rows(rows)
    return feed


def check_dynamic_batch(model: onnx.ModelProto, source: str) -> None:
    """Every input and output must have a named (symbolic) first axis."""
    for value in [*model.graph.input, *model.graph.output]:
        dims = value.type.tensor_type.shape.dim
        if not dims or not dims[0].dim_param:
            fixed = dims[0].dim_value if dims else "none"
            raise ExportError(f"{source}: {value.name} has no dynamic batch axis (first dim: {fixed})")


def _session(model_bytes: bytes) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.log_severity_level = 3
    return ort.InferenceSession(model_bytes, sess_options=options, providers=["CPUExecutionProvider"])


def check_parity(
    reference_float: torch.nn.Module,
    reference_image: torch.nn.Module,
    float_model: bytes,
    image_model: bytes,
    *,
    z_dim: int,
    prior: str,
    schema: LabelSchema | None,
    precision: str,
    tolerance: float,
    source: str,
) -> ParityReport:
    """Compare both ONNX graphs with their torch references; ParityError above tolerance."""
    float_session, image_session = _session(float_model), _session(image_model)
    levels = level_tolerance(tolerance) if precision != "fp32" else 1
    worst_float, worst_level = 0.0, 0
    for index, batch in enumerate(BATCH_SIZES):
        feed = parity_inputs(batch, z_dim, prior, schema, seed=1000 * index)
        args = [torch.from_numpy(feed[k]) for k in ("z", "labels", "mask") if k in feed]
        with torch.no_grad():
            want_float = reference_float(*args).numpy()
            want_image = reference_image(*args).numpy()
        got_float = float_session.run(None, feed)[0]
        got_image = image_session.run(None, feed)[0]
        if got_float.shape != want_float.shape or got_image.shape != want_image.shape:
            raise ParityError(
                f"{source}: batch {batch} output shapes differ: onnx {got_float.shape}/{got_image.shape}, "
                f"torch {want_float.shape}/{want_image.shape}"
            )
        worst_float = max(worst_float, float(np.abs(got_float.astype(np.float32) - want_float).max()))
        worst_level = max(worst_level, int(np.abs(got_image.astype(np.int16) - want_image.astype(np.int16)).max()))
    report = ParityReport(precision, BATCH_SIZES, worst_float, worst_level, tolerance, levels)
    if not math.isfinite(worst_float) or worst_float > tolerance or worst_level > levels:
        raise ParityError(f"{source}: parity check failed: {report.summary()}")
    return report
