"""The model-file contract: what an exported generator says about itself.

An albumgan model is one ONNX file whose `metadata_props` describe it (docs/MODELS.md):
format version, kind, name, version, step, resolution, latent size and prior, label schema,
dataset provenance, evaluation figures. This module is the one place those keys are named
and read: `albumgan.export` writes them and checks its output with `parse_metadata`, the
bot's engine reads them with it, and evaluation describes checkpoints with the same
`ModelInfo`, so the three cannot drift. No torch and no onnxruntime here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from albumgan.labels import LabelSchema, SchemaError, TrainedRanges
from albumgan.latent import PRIORS, latents_from_seeds

FORMAT_VERSION = "1"
KINDS = ("unconditional", "acgan")
PREFIX = "albumgan."
KEY_FORMAT = PREFIX + "format"
KEY_KIND = PREFIX + "kind"
KEY_NAME = PREFIX + "name"
KEY_VERSION = PREFIX + "version"
KEY_STEP = PREFIX + "step"
KEY_RESOLUTION = PREFIX + "resolution"
KEY_Z_DIM = PREFIX + "z_dim"
KEY_LATENT_PRIOR = PREFIX + "latent_prior"
KEY_LABEL_SCHEMA = PREFIX + "label_schema"
KEY_DATASET = PREFIX + "dataset"
KEY_EVAL = PREFIX + "eval"
KEY_CREATED = PREFIX + "created"
KEY_WEIGHTS_SHA256 = PREFIX + "weights_sha256"
# Optional keys, for people and tools; a reader ignores what it does not know.
KEY_PRECISION = PREFIX + "precision"
KEY_ARCHITECTURE = PREFIX + "architecture"
KEY_EXPORTED = PREFIX + "exported"
KEY_CONFIG = PREFIX + "training_config"
KEY_LINEAGE = PREFIX + "training_lineage"  # total steps and minutes across continuations
REQUIRED_KEYS = (
    KEY_FORMAT,
    KEY_KIND,
    KEY_NAME,
    KEY_VERSION,
    KEY_STEP,
    KEY_RESOLUTION,
    KEY_Z_DIM,
    KEY_LATENT_PRIOR,
    KEY_DATASET,
    KEY_EVAL,
    KEY_CREATED,
    KEY_WEIGHTS_SHA256,
)

INPUT_Z = "z"
INPUT_LABELS = "labels"
INPUT_MASK = "mask"
OUTPUT_IMAGE = "image"


class ModelError(Exception):
    """A model file that cannot be served: missing, corrupt, not ours, or inconsistent."""


@dataclass(frozen=True)
class ModelInfo:
    """What a model says about itself, plus where it was loaded from: the one description
    of a model, for an exported ONNX file (the engine, the export) and for a training
    checkpoint (evaluation, export), which also carries `training`."""

    kind: str
    name: str
    step: int
    resolution: int
    z_dim: int
    latent_prior: str
    schema: LabelSchema | None
    version: str = ""
    dataset: dict = field(default_factory=dict)
    eval: dict = field(default_factory=dict)
    created: str = ""
    sha256: str = ""  # of the generator weights, as recorded at export
    path: Path = field(default_factory=Path)
    file_sha256: str = ""  # of the .onnx file as loaded
    provider: str = "CPUExecutionProvider"  # onnxruntime provider, or "torch" for a checkpoint
    format: str = "onnx"  # "onnx" | "checkpoint"
    # Checkpoints only: generator architecture and kwargs, resolved training config, lineage.
    training: dict = field(default_factory=dict)
    # Exported files: total_steps, total_minutes and segments of all the training behind it.
    lineage: dict = field(default_factory=dict)
    # Conditional models: each feature's range in the training labels (dataset["label_ranges"]).
    trained_ranges: TrainedRanges = field(default_factory=TrainedRanges)

    def summary(self) -> dict:
        """The fields an evaluation report names the model by."""
        return {
            "path": str(self.path),
            "format": self.format,
            "name": self.name,
            "kind": self.kind,
            "step": self.step,
            "resolution": self.resolution,
            "z_dim": self.z_dim,
            "latent_prior": self.latent_prior,
            "dataset_content_hash": self.dataset.get("content_hash"),
        }

    @property
    def conditional(self) -> bool:
        return self.kind == "acgan"

    def latents(self, seeds: Sequence[int]) -> np.ndarray:
        """z rows for these seeds, with this model's size and prior: (len(seeds), z_dim)."""
        return latents_from_seeds(list(seeds), self.z_dim, self.latent_prior)

    def encode(self, raw: Mapping[str, float | None]) -> tuple[np.ndarray, np.ndarray]:
        """Raw audio features by name -> (labels, mask) rows for this model's schema, each
        value first moved into the range the model was trained on (`TrainedRanges.fit`)."""
        if self.schema is None:
            raise ModelError(f"{self.name} is unconditional: it takes no features")
        fitted, _ = self.trained_ranges.fit(raw)
        return self.schema.encode(fitted)


def trained_ranges_of(dataset: Mapping, schema: LabelSchema | None) -> TrainedRanges:
    """The trained ranges a model's dataset description records (none for an unconditional
    model or a file from before they were recorded); SchemaError if they are malformed."""
    if schema is None or "label_ranges" not in dataset:
        return TrainedRanges()
    return TrainedRanges.from_dict(dataset["label_ranges"], schema)


def _json_object(props: Mapping[str, str], key: str, source: str) -> dict:
    try:
        value = json.loads(props[key])
    except json.JSONDecodeError as exc:
        raise ModelError(f"{source}: metadata {key} is not valid JSON ({exc})") from exc
    if not isinstance(value, dict):
        raise ModelError(f"{source}: metadata {key} must be a JSON object")
    return value


def _int_at_least(props: Mapping[str, str], key: str, source: str, minimum: int = 1) -> int:
    text = props[key]
    try:
        value = int(text)
    except ValueError:
        raise ModelError(f"{source}: metadata {key}={text!r} is not an integer") from None
    if value < minimum:
        raise ModelError(f"{source}: metadata {key}={value} is out of range")
    return value


def parse_metadata(props: Mapping[str, str], source: str = "model") -> ModelInfo:
    """Validate albumgan metadata_props and turn them into a ModelInfo (path left empty).

    `source` names the file in error messages."""
    if KEY_FORMAT not in props:
        raise ModelError(f"{source}: not an albumgan model (no {KEY_FORMAT} metadata; export it with albumgan-export)")
    if props[KEY_FORMAT] != FORMAT_VERSION:
        raise ModelError(
            f"{source}: model format {props[KEY_FORMAT]!r} is not supported "
            f"(this engine reads format {FORMAT_VERSION}); re-export it or update the bot"
        )
    missing = [key for key in REQUIRED_KEYS if key not in props]
    if missing:
        raise ModelError(f"{source}: metadata is missing {', '.join(missing)}")
    kind = props[KEY_KIND]
    if kind not in KINDS:
        raise ModelError(f"{source}: unknown model kind {kind!r} (expected one of {KINDS})")
    prior = props[KEY_LATENT_PRIOR]
    if prior not in PRIORS:
        raise ModelError(f"{source}: unknown latent prior {prior!r} (expected one of {PRIORS})")
    schema = None
    dataset = _json_object(props, KEY_DATASET, source)
    if kind == "acgan" and KEY_LABEL_SCHEMA not in props:
        raise ModelError(f"{source}: an acgan model needs {KEY_LABEL_SCHEMA} metadata")
    try:
        if kind == "acgan":
            schema = LabelSchema.from_json(props[KEY_LABEL_SCHEMA])
        ranges = trained_ranges_of(dataset, schema)
    except SchemaError as exc:
        raise ModelError(f"{source}: {exc}") from exc
    return ModelInfo(
        kind=kind,
        name=props[KEY_NAME],
        version=props[KEY_VERSION],
        step=_int_at_least(props, KEY_STEP, source, minimum=0),
        resolution=_int_at_least(props, KEY_RESOLUTION, source),
        z_dim=_int_at_least(props, KEY_Z_DIM, source),
        latent_prior=prior,
        schema=schema,
        dataset=dataset,
        trained_ranges=ranges,
        eval=_json_object(props, KEY_EVAL, source),
        created=props[KEY_CREATED],
        sha256=props[KEY_WEIGHTS_SHA256],
        lineage=_json_object(props, KEY_LINEAGE, source) if KEY_LINEAGE in props else {},
    )


def check_signature(inputs: Sequence, outputs: Sequence, info: ModelInfo, source: str) -> None:
    """The graph's inputs and output (onnxruntime NodeArgs: name, type, shape) must be
    exactly what the metadata promises."""
    expected = {INPUT_Z: ("tensor(float)", info.z_dim)}
    if info.schema is not None:
        expected[INPUT_LABELS] = ("tensor(float)", len(info.schema))
        expected[INPUT_MASK] = ("tensor(float)", len(info.schema))
    by_name = {i.name: i for i in inputs}
    if set(by_name) != set(expected):
        raise ModelError(
            f"{source}: inputs {sorted(by_name)} do not match the {info.kind} model its metadata "
            f"describes (expected {sorted(expected)})"
        )
    for name, (dtype, width) in expected.items():
        arg = by_name[name]
        if arg.type != dtype or len(arg.shape) != 2 or arg.shape[1] != width:
            raise ModelError(f"{source}: input {name} is {arg.type}{arg.shape}, expected {dtype}[batch, {width}]")
        if isinstance(arg.shape[0], int):
            raise ModelError(f"{source}: input {name} has a fixed batch of {arg.shape[0]}; re-export it")
    res = info.resolution
    if (
        len(outputs) != 1
        or outputs[0].name != OUTPUT_IMAGE
        or outputs[0].type != "tensor(uint8)"
        or list(outputs[0].shape[1:]) != [res, res, 3]
    ):
        found = [(o.name, o.type, o.shape) for o in outputs]
        raise ModelError(f"{source}: outputs {found} are not one uint8 image[batch, {res}, {res}, 3]")


def describe_session(session, source: str) -> ModelInfo:
    """The validated ModelInfo of a model loaded in an onnxruntime InferenceSession (duck
    typed: this module does not import onnxruntime): metadata parsed, graph signature checked."""
    info = parse_metadata(session.get_modelmeta().custom_metadata_map, source)
    check_signature(session.get_inputs(), session.get_outputs(), info, source)
    return info
