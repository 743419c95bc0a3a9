"""Cleaning: decode covers with Pillow, normalise them to RGB squares at each training
resolution, drop what cannot be used (counted, never fatal), merge exact and near
duplicates, apply the optional filters, and write the training format.

Both the crawler and the importer describe their data as `SourceRecord`s (one per track or
table row, each pointing at an image) and call `build_dataset`; everything after that is
shared.
"""

from __future__ import annotations

import hashlib
import io
import logging
import warnings
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from albumgan.labels import DEFAULT_SCHEMA, LabelSchema
from albumgan.training.data.format import Item, write_dataset

log = logging.getLogger(__name__)

UNITS = ("cover", "track")
BACKGROUND = (255, 255, 255)  # transparent pixels become white, as a viewer shows them


class Rejected(Exception):
    """An image the dataset cannot use; `reason` is a short tag for the report."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass
class CleanConfig:
    resolutions: tuple[int, ...] = (64,)
    unit: str = "cover"  # one item per distinct cover (features averaged) or per track
    min_size: int = 32  # shorter side in pixels; smaller images are rejected
    dedupe_bits: int | None = 4  # max Hamming distance of 64-bit dHashes; None: keep near duplicates
    popularity_range: tuple[float | None, float | None] = (None, None)
    year_range: tuple[int | None, int | None] = (None, None)

    def __post_init__(self):
        if not self.resolutions or any(r < 4 or r > 2048 for r in self.resolutions):
            raise ValueError(f"resolutions must be between 4 and 2048 px, got {self.resolutions}")
        if self.unit not in UNITS:
            raise ValueError(f"unit must be one of {UNITS}, not {self.unit!r}")
        if self.dedupe_bits is not None and not 0 <= self.dedupe_bits <= 16:
            raise ValueError("dedupe_bits must be between 0 and 16")


@dataclass
class SourceRecord:
    """One track (or table row) and the key of its image (`load_image(image_key)` -> bytes)."""

    id: str
    image_key: str
    cover_id: str = ""  # items of unit "cover" take this id (album id, image stem)
    track_name: str = ""
    album_name: str = ""
    artists: str = ""
    release_year: int | None = None
    origin: str = ""
    features: dict[str, float | None] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)


@dataclass
class BuildReport:
    records: int = 0
    images: int = 0
    rejected: Counter = field(default_factory=Counter)
    reject_examples: dict[str, str] = field(default_factory=dict)
    exact_duplicates: int = 0
    near_duplicates: int = 0
    filtered: Counter = field(default_factory=Counter)
    items: int = 0

    def to_dict(self) -> dict:
        return {
            "records": self.records,
            "images": self.images,
            "rejected": dict(self.rejected),
            "exact_duplicates": self.exact_duplicates,
            "near_duplicates": self.near_duplicates,
            "filtered": dict(self.filtered),
            "items": self.items,
        }

    def summary(self) -> str:
        rejected = ", ".join(f"{n} {r}" for r, n in sorted(self.rejected.items())) or "none"
        filtered = ", ".join(f"{n} {r}" for r, n in sorted(self.filtered.items())) or "none"
        return (
            f"{self.records} records, {self.images} images: rejected {rejected}; "
            f"{self.exact_duplicates} exact and {self.near_duplicates} near duplicates merged; "
            f"filtered {filtered}; {self.items} items written"
        )


# --- one image ------------------------------------------------------------------------
def decode(data: bytes, *, draft_size: int | None = None, min_size: int = 1) -> Image.Image:
    """Bytes -> a fully loaded RGB image (EXIF orientation applied), or `Rejected`.
    `draft_size` lets JPEG decode at a reduced DCT scale that still covers that size."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image: Image.Image = Image.open(io.BytesIO(data))
            if draft_size and image.format == "JPEG":
                image.draft(None, (draft_size, draft_size))
            image.load()
            image = ImageOps.exif_transpose(image)
    except UnidentifiedImageError as exc:
        raise Rejected("unreadable", str(exc)) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise Rejected("too-large", str(exc)) from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise Rejected("truncated" if "truncated" in str(exc) else "corrupt", str(exc)) from None
    if min(image.size) < min_size:
        raise Rejected("too-small", f"{image.size[0]}x{image.size[1]}")
    return to_rgb(image)


def to_rgb(image: Image.Image) -> Image.Image:
    """Palette, alpha, grayscale, 16-bit and CMYK images -> 8-bit RGB."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        pixels = np.asarray(image, dtype=np.float64)
        if image.mode.startswith("I;16") or pixels.max(initial=0) > 255:
            pixels = pixels / 257.0
        image = Image.fromarray(np.clip(np.rint(pixels), 0, 255).astype(np.uint8), "L")
    has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info
    if has_alpha:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, BACKGROUND + (255,))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image if image.mode == "RGB" else image.convert("RGB")


def center_square(width: int, height: int) -> tuple[int, int, int, int]:
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    return left, top, left + side, top + side


def square_resize(image: Image.Image, resolution: int) -> np.ndarray:
    """Centre-crop to a square and resize with antialiasing: (res, res, 3) uint8.
    `reducing_gap` shrinks by whole factors with a box filter first, then Lanczos."""
    box = center_square(*image.size)
    resized = image.resize((resolution, resolution), Image.Resampling.LANCZOS, box=box, reducing_gap=3.0)
    return np.asarray(resized, dtype=np.uint8)


def dhash(image: Image.Image) -> int:
    """64-bit difference hash of the centre square: re-encoded or resized copies of a
    cover land within a few bits of each other (so do many flat, near-blank covers, which
    is why `NearDuplicateIndex` also compares thumbnails)."""
    small = image.convert("L").resize((9, 8), Image.Resampling.BOX, box=center_square(*image.size))
    pixels = np.asarray(small, dtype=np.int16)
    bits = (pixels[:, 1:] > pixels[:, :-1]).flatten()
    return int("".join("1" if b else "0" for b in bits), 2)


def thumbnail(image: Image.Image) -> np.ndarray:
    """16x16 RGB of the centre square, for the pixel-level check of hash candidates."""
    small = image.resize((16, 16), Image.Resampling.BOX, box=center_square(*image.size))
    return np.asarray(small, dtype=np.int16)


class NearDuplicateIndex:
    """Finds a kept cover that is a near copy of a new one: its dHash within `max_bits`
    AND every pixel of its 16x16 thumbnail within `max_pixel_diff` (0-255). The largest
    difference, not the mean: two mostly-blank covers with different small drawings or
    a different tint are not copies (re-encoded copies stay within about 10).

    Hashes are split into `max_bits + 1` bands: two hashes that close agree exactly on at
    least one band (pigeonhole), so only same-band candidates are compared."""

    def __init__(self, max_bits: int, max_pixel_diff: int = 24):
        self.max_bits = max_bits
        self.max_pixel_diff = max_pixel_diff
        self.bands = max_bits + 1
        self.width = 64 // self.bands
        self.buckets: list[dict[int, list[int]]] = [{} for _ in range(self.bands)]
        self.hashes: list[int] = []
        self.thumbs: list[np.ndarray | None] = []

    def _band_values(self, value: int) -> list[int]:
        mask = (1 << self.width) - 1
        return [(value >> (b * self.width)) & mask for b in range(self.bands)]

    def find(self, value: int, thumb: np.ndarray | None = None) -> int | None:
        for band, key in enumerate(self._band_values(value)):
            for owner in self.buckets[band].get(key, ()):
                if (value ^ self.hashes[owner]).bit_count() > self.max_bits:
                    continue
                other = self.thumbs[owner]
                if thumb is None or other is None or np.abs(thumb - other).max() <= self.max_pixel_diff:
                    return owner
        return None

    def add(self, value: int, thumb: np.ndarray | None = None) -> int:
        """Keep a cover; returns its index (what `find` answers for its copies)."""
        owner = len(self.hashes)
        self.hashes.append(value)
        self.thumbs.append(thumb)
        for band, key in enumerate(self._band_values(value)):
            self.buckets[band].setdefault(key, []).append(owner)
        return owner


# --- a whole dataset ------------------------------------------------------------------
def build_dataset(
    records: Sequence[SourceRecord],
    load_image: Callable[[str], bytes],
    out_dir: str | Path,
    config: CleanConfig,
    *,
    schema: LabelSchema = DEFAULT_SCHEMA,
    provenance: dict | None = None,
    overwrite: bool = False,
    progress: Callable[[Iterator, int, str], Iterator] | None = None,
) -> tuple[Path, BuildReport]:
    """Clean, dedupe, group and filter `records`, then write the dataset atomically."""
    report = BuildReport(records=len(records))
    track = progress or (lambda it, total, desc: it)
    canonical, sha_of = _scan_images(records, load_image, config, report, track)
    items, item_keys = _make_items(records, canonical, sha_of, config, schema)
    items, item_keys = _apply_filters(items, item_keys, config, report)
    report.items = len(items)
    images = {res: _resized(item_keys, load_image, res) for res in config.resolutions}
    meta = {**(provenance or {}), "build": {**report.to_dict(), "unit": config.unit, "dedupe_bits": config.dedupe_bits}}
    path = write_dataset(out_dir, items, images, schema=schema, provenance=meta, overwrite=overwrite)
    log.info("dataset %s: %s", path, report.summary())
    return path, report


def _scan_images(records, load_image, config, report, track) -> tuple[dict[str, str], dict[str, str]]:
    """(image key -> the key of the image kept in its place: itself, or the first exact or
    near duplicate; rejected images map nowhere), (kept key -> sha256 of its bytes)."""
    canonical: dict[str, str] = {}
    by_sha: dict[str, str] = {}
    sha_of: dict[str, str] = {}
    kept: list[str] = []
    index = NearDuplicateIndex(config.dedupe_bits) if config.dedupe_bits is not None else None
    keys = list(dict.fromkeys(r.image_key for r in records))
    report.images = len(keys)
    for key in track(iter(keys), len(keys), "checking images"):
        try:
            data = load_image(key)
        except OSError as exc:
            _reject(report, key, Rejected("missing", str(exc)))
            continue
        sha = hashlib.sha256(data).hexdigest()
        if sha in by_sha:
            canonical[key] = by_sha[sha]
            report.exact_duplicates += 1
            continue
        try:
            image = decode(data, draft_size=64, min_size=config.min_size)
        except Rejected as exc:
            _reject(report, key, exc)
            continue
        by_sha[sha] = key
        sha_of[key] = sha
        if index is not None:
            value, thumb = dhash(image), thumbnail(image)
            twin = index.find(value, thumb)
            if twin is not None:
                canonical[key] = kept[twin]
                report.near_duplicates += 1
                continue
            index.add(value, thumb)
        kept.append(key)
        canonical[key] = key
    return canonical, sha_of


def _reject(report: BuildReport, key: str, exc: Rejected) -> None:
    report.rejected[exc.reason] += 1
    report.reject_examples.setdefault(exc.reason, f"{key}: {exc}")
    log.debug("rejected %s: %s", key, exc)


def _make_items(records, canonical, sha_of, config, schema) -> tuple[list[Item], list[str]]:
    groups: dict[str, list[SourceRecord]] = {}
    for record in records:
        image = canonical.get(record.image_key)
        if image is not None:
            group_key = image if config.unit == "cover" else f"{image}\0{record.id}"
            groups.setdefault(group_key, []).append(record)
    items, keys = [], []
    for group_key, members in groups.items():
        first = members[0]
        features, sources = _merge_features(members, schema.names)
        items.append(
            Item(
                id=(first.cover_id or first.id) if config.unit == "cover" else first.id,
                track_name=first.track_name,
                album_name=first.album_name,
                artists=first.artists,
                release_year=first.release_year,
                origin=first.origin,
                image_sha256=sha_of[group_key.split("\0", 1)[0]],
                features=features,
                feature_sources=sources,
            )
        )
        keys.append(group_key.split("\0", 1)[0])
    return items, keys


def _merge_features(members: list[SourceRecord], names: Sequence[str]) -> tuple[dict, dict]:
    """Mean of each feature over the members that have it; the source is the members'
    common source, or `mean:<a>+<b>` when they differ."""
    features: dict[str, float | None] = {}
    sources: dict[str, str] = {}
    for name in names:
        present = [(m.features[name], m.sources.get(name, "")) for m in members if m.features.get(name) is not None]
        if not present:
            features[name] = None
            continue
        features[name] = float(np.mean([v for v, _ in present]))
        distinct = sorted({s for _, s in present if s})
        sources[name] = distinct[0] if len(distinct) == 1 else ("mean:" + "+".join(distinct) if distinct else "")
    return features, sources


def _apply_filters(items, keys, config, report) -> tuple[list[Item], list[str]]:
    low_pop, high_pop = config.popularity_range
    low_year, high_year = config.year_range
    kept_items, kept_keys = [], []
    for item, key in zip(items, keys, strict=True):
        popularity = item.features.get("popularity")
        if (low_pop is not None or high_pop is not None) and popularity is None:
            report.filtered["popularity unknown"] += 1
        elif (low_pop is not None and popularity < low_pop) or (high_pop is not None and popularity > high_pop):
            report.filtered["popularity out of range"] += 1
        elif (low_year is not None or high_year is not None) and item.release_year is None:
            report.filtered["release year unknown"] += 1
        elif (low_year is not None and item.release_year < low_year) or (
            high_year is not None and item.release_year > high_year
        ):
            report.filtered["release year out of range"] += 1
        else:
            kept_items.append(item)
            kept_keys.append(key)
    return kept_items, kept_keys


def _resized(keys: list[str], load_image, resolution: int) -> Iterator[np.ndarray]:
    """Each item's image at one resolution, decoding each distinct image once in a row."""
    last_key: str | None = None
    last = np.empty(0, np.uint8)  # replaced by the first key's image
    for key in keys:
        if key != last_key:
            data = load_image(key)
            last = square_resize(decode(data, draft_size=2 * resolution), resolution)
            last_key = key
        yield last
