"""The writing side of a model's self-description (ONNX metadata_props).

Key names and the format version live in `albumgan.modelfile`, the contract; every
property set built here is parsed back with its `parse_metadata` before it is written, so
an export can never produce a file the bot refuses. See docs/MODELS.md for the keys.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

import torch

from albumgan import modelfile as keys
from albumgan.modelfile import ModelInfo

WEAK_LABEL_NOTE = (
    "Conditioning labels are weak: per-track audio features describe the music, not the "
    "artwork, and come from third-party feature providers; a missing value is masked "
    "(mask 0), never guessed. Expect a loose, statistical link between features and covers."
)


def weights_sha256(generator: torch.nn.Module) -> str:
    """sha256 over the generator's state_dict: for each tensor in name order, the name,
    dtype, shape and raw little-endian bytes. Identifies the weights independently of the
    ONNX serialisation, so fp32 and fp16 files of one checkpoint share it."""
    digest = hashlib.sha256()
    for name, tensor in sorted(generator.state_dict().items()):
        t = tensor.detach().cpu().contiguous()
        digest.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        digest.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def dataset_summary(meta: ModelInfo) -> dict:
    """What the model was trained on: content hash, image count, provenance; for a
    conditional model also the weak-label caveat and each feature's trained range."""
    summary = {
        "content_hash": meta.dataset.get("content_hash", ""),
        "count": int(meta.dataset.get("count", 0)),
        "provenance": meta.dataset.get("provenance", {}),
    }
    if meta.kind == "acgan":
        summary["label_note"] = WEAK_LABEL_NOTE
        if meta.trained_ranges.bounds:
            summary["label_ranges"] = meta.trained_ranges.to_dict()
    return summary


def lineage_summary(segments: list[dict]) -> dict:
    """Total steps and minutes over a model's training segments (a fine-tune or a
    continuation adds one); minutes are null when an early segment did not record them."""
    minutes = [s.get("minutes") for s in segments]
    known = [float(m) for m in minutes if m is not None]
    return {
        "total_steps": sum(int(s.get("steps", 0)) for s in segments),
        "total_minutes": round(sum(known), 1) if len(known) == len(minutes) else None,
        "segments": segments,
    }


def build_metadata(
    meta: ModelInfo,
    *,
    name: str,
    version: str,
    weights_sha256: str,
    eval_figures: dict | None = None,
    precision: str = "fp32",
    source: str = "export",
) -> dict[str, str]:
    """metadata_props for one exported generator; raises albumgan.modelfile.ModelError if the
    result would not be accepted by the engine (e.g. an acgan checkpoint without schema)."""
    props = {
        keys.KEY_FORMAT: keys.FORMAT_VERSION,
        keys.KEY_KIND: meta.kind,
        keys.KEY_NAME: name,
        keys.KEY_VERSION: version,
        keys.KEY_STEP: str(meta.step),
        keys.KEY_RESOLUTION: str(meta.resolution),
        keys.KEY_Z_DIM: str(meta.z_dim),
        keys.KEY_LATENT_PRIOR: meta.latent_prior,
        keys.KEY_DATASET: json.dumps(dataset_summary(meta), sort_keys=True),
        keys.KEY_EVAL: json.dumps(eval_figures or {}, sort_keys=True),
        keys.KEY_CREATED: meta.created or _now(),
        keys.KEY_WEIGHTS_SHA256: weights_sha256,
        keys.KEY_PRECISION: precision,
        keys.KEY_ARCHITECTURE: json.dumps({"arch": meta.training["arch"], **meta.training["kwargs"]}, sort_keys=True),
        keys.KEY_LINEAGE: json.dumps(lineage_summary(meta.training["lineage"]), sort_keys=True),
        keys.KEY_EXPORTED: _now(),
        keys.KEY_CONFIG: json.dumps(meta.training["config"], sort_keys=True, default=str),
    }
    if meta.kind == "acgan":
        if meta.schema is None:
            raise keys.ModelError(f"{source}: an acgan checkpoint without a label schema cannot be exported")
        props[keys.KEY_LABEL_SCHEMA] = meta.schema.to_json()
    keys.parse_metadata(props, source)
    return props
