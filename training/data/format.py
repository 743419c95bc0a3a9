"""The training dataset format (version 1): memory-mappable uint8 image shards plus a
metadata table. Torch-free, so the dataset builder and `stats` need no torch.

    DATASET/
      manifest.json                  format, version, count, resolutions, shard files,
                                     label schema, provenance, content hash
      items.csv                      one row per image, in shard order (see ITEM_COLUMNS,
                                     then one column per feature and `<feature>_source`)
      images-<res>-<shard:05d>.npy   uint8 arrays (n, res, res, 3), RGB, at most
                                     `shard_size` images each

A dataset is written into a temporary sibling directory and renamed into place, so a
crash mid-write never leaves a half dataset where training looks.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import os
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from albumgan.atomic import fsync_dir
from albumgan.labels import DEFAULT_SCHEMA, LabelSchema, TrainedRanges

FORMAT_NAME = "albumgan-dataset"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
ITEMS = "items.csv"
ITEM_COLUMNS = ("id", "track_name", "album_name", "artists", "release_year", "origin", "image_sha256")
DEFAULT_SHARD_SIZE = 4096


class DatasetError(ValueError):
    """A dataset directory that cannot be read."""


@dataclass
class Item:
    """One training example's metadata. `features` holds raw values (None = missing);
    `feature_sources` names the provider that gave each present value."""

    id: str
    track_name: str = ""
    album_name: str = ""
    artists: str = ""
    release_year: int | None = None
    origin: str = ""
    image_sha256: str = ""
    features: dict[str, float | None] = field(default_factory=dict)
    feature_sources: dict[str, str] = field(default_factory=dict)


def shard_name(resolution: int, index: int) -> str:
    return f"images-{resolution}-{index:05d}.npy"


def write_dataset(
    out_dir: str | os.PathLike,
    items: list[Item],
    images: Mapping[int, Iterable[np.ndarray]],
    *,
    schema: LabelSchema = DEFAULT_SCHEMA,
    provenance: Mapping | None = None,
    shard_size: int = DEFAULT_SHARD_SIZE,
    overwrite: bool = False,
) -> Path:
    """Write a dataset atomically. `images[res]` yields one (res, res, 3) uint8 array per item."""
    out = Path(out_dir)
    if out.exists() and not overwrite:
        raise DatasetError(f"{out} already exists (pass overwrite to replace it)")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        digest = hashlib.sha256()
        shards: dict[str, list[str]] = {}
        for res, arrays in sorted(images.items()):
            shards[str(res)] = _write_shards(tmp, res, arrays, len(items), shard_size, digest)
        _write_items(tmp / ITEMS, items, schema)
        digest.update((tmp / ITEMS).read_bytes())
        manifest = {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "count": len(items),
            "resolutions": sorted(int(r) for r in images),
            "shard_size": shard_size,
            "shards": shards,
            "label_schema": schema.to_dict(),
            "provenance": dict(provenance or {}),
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "content_hash": digest.hexdigest(),
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True))
        for path in tmp.iterdir():
            with open(path, "rb+") as f:
                os.fsync(f.fileno())
        fsync_dir(tmp)
        if out.exists():
            trash = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            os.replace(out, trash / "old")
            os.replace(tmp, out)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            os.replace(tmp, out)
        fsync_dir(out.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _write_shards(tmp: Path, res: int, arrays: Iterable[np.ndarray], count: int, shard_size: int, digest) -> list[str]:
    names: list[str] = []
    iterator = iter(arrays)
    for index in range(math.ceil(count / shard_size) if count else 0):
        n = min(shard_size, count - index * shard_size)
        name = shard_name(res, index)
        shard = np.lib.format.open_memmap(tmp / name, mode="w+", dtype=np.uint8, shape=(n, res, res, 3))
        for row in range(n):
            try:
                image = next(iterator)
            except StopIteration:
                raise DatasetError(f"fewer {res}px images than items ({index * shard_size + row} < {count})") from None
            if image.shape != (res, res, 3) or image.dtype != np.uint8:
                raise DatasetError(f"image {index * shard_size + row} has shape {image.shape} {image.dtype}, expected ({res}, {res}, 3) uint8")
            shard[row] = image
        shard.flush()
        digest.update(np.ascontiguousarray(shard).tobytes())
        del shard
        names.append(name)
    if next(iterator, None) is not None:
        raise DatasetError(f"more {res}px images than items ({count})")
    return names


def _write_items(path: Path, items: list[Item], schema: LabelSchema) -> None:
    columns = list(ITEM_COLUMNS) + list(schema.names) + [f"{n}_source" for n in schema.names]
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        for item in items:
            row = {c: getattr(item, c) for c in ITEM_COLUMNS}
            row["release_year"] = "" if item.release_year is None else item.release_year
            for name in schema.names:
                value = item.features.get(name)
                row[name] = "" if value is None else repr(float(value))
                row[f"{name}_source"] = item.feature_sources.get(name, "") if value is not None else ""
            writer.writerow(row)


class ShardedDataset:
    """Read side: memory-mapped images at one resolution plus the items table.

    `images(i)` is a (res, res, 3) uint8 view; `labels` and `mask` are the schema-encoded
    features of every item (float32, (count, n_features)).
    """

    def __init__(self, root: str | os.PathLike, resolution: int | None = None):
        self.root = Path(root)
        manifest_path = self.root / MANIFEST
        if not self.root.is_dir():
            raise DatasetError(f"dataset directory {self.root} does not exist")
        if not manifest_path.is_file():
            raise DatasetError(f"{self.root} is not a dataset: {MANIFEST} is missing")
        try:
            self.manifest = json.loads(manifest_path.read_text())
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{manifest_path} is not valid JSON: {exc}") from exc
        if self.manifest.get("format") != FORMAT_NAME or self.manifest.get("version") != FORMAT_VERSION:
            raise DatasetError(f"{self.root}: unsupported dataset format {self.manifest.get('format')!r} v{self.manifest.get('version')!r}")
        self.schema = LabelSchema.from_dict(self.manifest["label_schema"])
        available = self.manifest["resolutions"]
        self.resolution = int(resolution if resolution is not None else max(available))
        if self.resolution not in available:
            raise DatasetError(f"{self.root} has no {self.resolution}px images (it has {available})")
        self.items = read_items(self.root / ITEMS, self.schema)
        self.shard_size = int(self.manifest["shard_size"])
        self._shards = [np.load(self.root / n, mmap_mode="r") for n in self.manifest["shards"][str(self.resolution)]]
        if sum(len(s) for s in self._shards) != len(self.items):
            raise DatasetError(f"{self.root}: image shards and {ITEMS} disagree on the item count")
        self.labels, self.mask = self.schema.encode_rows([it.features for it in self.items])

    def __len__(self) -> int:
        return len(self.items)

    @property
    def content_hash(self) -> str:
        return self.manifest["content_hash"]

    def label_ranges(self) -> TrainedRanges:
        """Each feature's raw range over the items: what a model trained here learned."""
        return self.schema.observed_ranges(item.features for item in self.items)

    def image(self, index: int) -> np.ndarray:
        shard, row = divmod(index, self.shard_size)
        return self._shards[shard][row]

    def batch(self, indices: np.ndarray) -> np.ndarray:
        """uint8 (n, res, res, 3) for the given item indices, gathered shard by shard."""
        out = np.empty((len(indices), self.resolution, self.resolution, 3), dtype=np.uint8)
        shard_ids, rows = np.divmod(np.asarray(indices), self.shard_size)
        for shard in np.unique(shard_ids):
            where = shard_ids == shard
            out[where] = self._shards[shard][rows[where]]
        return out


def read_items(path: Path, schema: LabelSchema) -> list[Item]:
    items = []
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            features = {n: (float(row[n]) if row.get(n) not in (None, "") else None) for n in schema.names}
            items.append(
                Item(
                    id=row["id"],
                    track_name=row.get("track_name", ""),
                    album_name=row.get("album_name", ""),
                    artists=row.get("artists", ""),
                    release_year=int(row["release_year"]) if row.get("release_year") else None,
                    origin=row.get("origin", ""),
                    image_sha256=row.get("image_sha256", ""),
                    features=features,
                    feature_sources={n: row[f"{n}_source"] for n in schema.names if row.get(f"{n}_source")},
                )
            )
    return items
