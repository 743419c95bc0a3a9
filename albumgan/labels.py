"""The audio-feature label schema: one truth shared by training, export and the bot.

Torch-free on purpose: the bot imports it to turn a track's raw features into the
generator's condition vector, using the schema embedded in the ONNX model's metadata.

Normalisation: each raw value is clipped to ``[low, high]`` and mapped linearly onto
``[-1, 1]``. Missing values (Spotify dropped ``popularity`` for many apps, providers
omit unknown tracks) are handled with a presence mask: the value slot holds 0 and the
mask holds 0, so the generator sees "unknown" rather than a made-up number.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from albumgan.typed_config import describe_value

SCHEMA_VERSION = 1
NORMALISATION = "linear_clip_to_minus1_1"
MISSING_RULE = "presence_mask"


class SchemaError(ValueError):
    """A label schema that this code cannot use."""


@dataclass(frozen=True)
class FeatureSpec:
    name: str
    low: float
    high: float
    unit: str = ""
    description: str = ""

    def normalise(self, raw: float) -> float:
        clipped = min(max(raw, self.low), self.high)
        return 2.0 * (clipped - self.low) / (self.high - self.low) - 1.0

    def denormalise(self, value: float) -> float:
        return self.low + (value + 1.0) * 0.5 * (self.high - self.low)

    def plausible(self, raw: float) -> bool:
        """Finite and within the range widened by its own width on each side. Values a little
        outside are real (a 230 BPM track, +1 dB) and `normalise` clips them; a tempo of 1e308
        or a loudness in millibels is a mistake in the data."""
        width = self.high - self.low
        return math.isfinite(raw) and self.low - width <= raw <= self.high + width


AUDIO_FEATURES: tuple[FeatureSpec, ...] = (
    FeatureSpec("popularity", 0, 100, "", "How much the track is played lately (Spotify, 0-100)."),
    FeatureSpec("danceability", 0, 1, "", "Suitability for dancing: tempo, rhythm stability, beat."),
    FeatureSpec("acousticness", 0, 1, "", "Confidence that the track is acoustic."),
    FeatureSpec("energy", 0, 1, "", "Perceived intensity and activity."),
    FeatureSpec("instrumentalness", 0, 1, "", "Likelihood that the track has no vocals."),
    FeatureSpec("liveness", 0, 1, "", "Likelihood that the track was performed live."),
    FeatureSpec("loudness", -60, 0, "dB", "Overall loudness in decibels."),
    FeatureSpec("speechiness", 0, 1, "", "Presence of spoken words."),
    FeatureSpec("tempo", 40, 220, "BPM", "Estimated tempo in beats per minute."),
    FeatureSpec("valence", 0, 1, "", "Musical positiveness: happy, cheerful, euphoric."),
)


@dataclass(frozen=True)
class LabelSchema:
    features: tuple[FeatureSpec, ...] = AUDIO_FEATURES
    version: int = SCHEMA_VERSION
    normalisation: str = NORMALISATION
    missing: str = MISSING_RULE

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.features)

    def __len__(self) -> int:
        return len(self.features)

    def encode(self, raw: Mapping[str, float | None]) -> tuple[np.ndarray, np.ndarray]:
        """Raw feature values by name -> (normalised values, presence mask), float32.

        Names not in the schema are ignored; absent, None and NaN values count as missing.
        """
        values = np.zeros(len(self), dtype=np.float32)
        mask = np.zeros(len(self), dtype=np.float32)
        for i, spec in enumerate(self.features):
            value = raw.get(spec.name)
            if value is None or (isinstance(value, float) and math.isnan(value)):
                continue
            values[i] = spec.normalise(float(value))
            mask[i] = 1.0
        return values, mask

    def encode_rows(self, rows: Sequence[Mapping[str, float | None]]) -> tuple[np.ndarray, np.ndarray]:
        if not rows:
            return np.zeros((0, len(self)), np.float32), np.zeros((0, len(self)), np.float32)
        values, masks = zip(*(self.encode(r) for r in rows), strict=True)
        return np.stack(values), np.stack(masks)

    def decode(self, values: Sequence[float], mask: Sequence[float] | None = None) -> dict[str, float | None]:
        """Normalised values (and mask) -> raw values by name, None where missing."""
        out: dict[str, float | None] = {}
        for i, spec in enumerate(self.features):
            present = mask is None or mask[i] > 0.5
            out[spec.name] = spec.denormalise(float(values[i])) if present else None
        return out

    def to_dict(self) -> dict:
        return {
            "schema_version": self.version,
            "normalisation": self.normalisation,
            "missing": self.missing,
            "features": [asdict(f) for f in self.features],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: Mapping) -> LabelSchema:
        try:
            version = int(data["schema_version"])
            normalisation = data["normalisation"]
            missing = data["missing"]
            features = tuple(FeatureSpec(**f) for f in data["features"])
        except (KeyError, TypeError, ValueError) as exc:
            raise SchemaError(f"malformed label schema: {exc!r}") from exc
        if version != SCHEMA_VERSION:
            raise SchemaError(f"label schema version {version} is not supported (this code reads {SCHEMA_VERSION})")
        if normalisation != NORMALISATION or missing != MISSING_RULE:
            raise SchemaError(f"unsupported label schema rules: {normalisation!r}, {missing!r}")
        for spec in features:
            _check_feature(spec)
        return cls(features=features, version=version, normalisation=normalisation, missing=missing)

    def observed_ranges(self, rows: Iterable[Mapping[str, float | None]]) -> TrainedRanges:
        """The [min, max] of each feature's present raw values over `rows` (each value first
        clipped into the feature's range, as `encode` does); features never present are left out."""
        seen: dict[str, list[float]] = {}
        for row in rows:
            for spec in self.features:
                value = row.get(spec.name)
                if value is None or math.isnan(value):
                    continue
                value = min(max(float(value), spec.low), spec.high)
                low, high = seen.setdefault(spec.name, [value, value])
                seen[spec.name] = [min(low, value), max(high, value)]
        return TrainedRanges({name: (low, high) for name, (low, high) in seen.items()})

    @classmethod
    def from_json(cls, text: str) -> LabelSchema:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SchemaError(f"label schema is not valid JSON: {exc}") from exc
        return cls.from_dict(data)


@dataclass(frozen=True)
class TrainedRanges:
    """The raw range each feature took in a model's training labels, by name.

    A generator only learns the conditions it was shown: fed a value well outside them it
    extrapolates, and covers turn to coloured speckle (the shipped ACGAN learned genre means,
    danceability 0.47-0.79 and 112-134 BPM, while real tracks span far more). `fit` moves a
    value outside its range to the nearest end, so a very fast track gets the fastest cover
    the model knows. No ranges (an older model file) fits nothing."""

    bounds: Mapping[str, tuple[float, float]] = field(default_factory=dict)

    def fit(self, raw: Mapping[str, float | None]) -> tuple[dict[str, float | None], dict[str, tuple[float, float]]]:
        """(`raw` with each present value moved into its range, {name: (given, used)} for the
        values that moved)."""
        fitted = dict(raw)
        moved: dict[str, tuple[float, float]] = {}
        for name, (low, high) in self.bounds.items():
            value = raw.get(name)
            if value is None or math.isnan(value):
                continue
            used = min(max(float(value), low), high)
            if used != value:
                fitted[name] = used
                moved[name] = (float(value), used)
        return fitted, moved

    def to_dict(self) -> dict[str, list[float]]:
        return {name: [low, high] for name, (low, high) in self.bounds.items()}

    @classmethod
    def from_dict(cls, data: object, schema: LabelSchema) -> TrainedRanges:
        """Ranges as `to_dict` writes them, for features of `schema`; SchemaError otherwise."""
        if not isinstance(data, Mapping):
            raise SchemaError(f"trained ranges must be an object of [low, high] by feature, got {describe_value(data)}")
        bounds: dict[str, tuple[float, float]] = {}
        for name, pair in data.items():
            if name not in schema.names:
                raise SchemaError(f"trained range for {name!r}, which is not a feature of the label schema")
            numbers = isinstance(pair, list | tuple) and all(
                isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in pair
            )
            if not numbers or len(pair) != 2 or pair[0] > pair[1]:
                raise SchemaError(f"trained range for {name!r} must be [low, high] with low <= high, got {pair!r}")
            bounds[name] = (float(pair[0]), float(pair[1]))
        return cls(bounds)


def _check_feature(spec: FeatureSpec) -> None:
    """SchemaError unless the feature's fields have the types they promise. A schema comes
    from a model file's metadata: a wrong type there (``"high": "1"``) must be a SchemaError
    here, not a TypeError in the first comparison that touches it, which escaped model loading
    (an "internal error" at start-up) and ended the model watcher."""
    if not isinstance(spec.name, str) or not spec.name:
        raise SchemaError(f"feature name must be a string, got {describe_value(spec.name)}")
    for key in ("low", "high"):
        value = getattr(spec, key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise SchemaError(f"feature {spec.name!r} {key} must be a number, got {describe_value(value)}")
        if not math.isfinite(value):
            raise SchemaError(f"feature {spec.name!r} {key} must be a finite number, got {value}")
    for key in ("unit", "description"):
        if not isinstance(getattr(spec, key), str):
            raise SchemaError(f"feature {spec.name!r} {key} must be a string, got {describe_value(getattr(spec, key))}")
    if not spec.high > spec.low:
        raise SchemaError(f"feature {spec.name!r} has an empty range [{spec.low}, {spec.high}]")


DEFAULT_SCHEMA = LabelSchema()
