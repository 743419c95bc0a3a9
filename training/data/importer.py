"""Local import: a folder of cover images plus an optional metadata/features table, for
maintainers who bring their own licensed data.

The table (CSV, or JSON: a list of objects or {"items": [...]}) names each row's image by
a path/file-name column (`image`, `file`, `filename`, `path`) or by a track-id column
(`id`, `track_id`, `spotify_id`) matched against image file stems (Kaggle-style tables
keyed by track id with images saved as `<track id>.jpg`). Feature columns are matched by
schema name (popularity, danceability, ...); a `<feature>_source` column, when present,
names where each value came from. Several rows may share one image.
"""

from __future__ import annotations

import csv
import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from albumgan.labels import DEFAULT_SCHEMA
from albumgan.tables import Table
from albumgan.training.data.clean import BuildReport, CleanConfig, SourceRecord, build_dataset
from albumgan.training.data.crawl import tqdm_progress

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff"})
IMAGE_COLUMNS = ("image", "image_path", "file", "filename", "file_name", "path")
ID_COLUMNS = ("id", "track_id", "spotify_id", "trackid")
TEXT_COLUMNS = {
    "track_name": ("track_name", "name", "track", "title"),
    "album_name": ("album_name", "album"),
    "artists": ("artists", "artist", "artist_name", "artist_names"),
    "release_year": ("release_year", "year", "release_date"),
}


class ImportInputError(ValueError):
    """Input the importer cannot use (missing folder, unreadable table, no key column)."""


@dataclass
class ImportConfig:
    images_dir: Path
    out: Path
    metadata: Path | None = None
    key_column: str | None = None  # auto: the first image column, else the first id column
    source_name: str | None = None  # source of values without a <feature>_source column
    require_metadata: bool = False  # drop images no table row names
    clean: CleanConfig = field(default_factory=CleanConfig)
    provenance: dict = field(default_factory=dict)
    overwrite: bool = False


def import_images(config: ImportConfig) -> tuple[Path, BuildReport]:
    images_dir = Path(config.images_dir)
    if not images_dir.is_dir():
        raise ImportInputError(f"image folder {images_dir} does not exist")
    images = sorted(
        p.relative_to(images_dir).as_posix()
        for p in images_dir.rglob("*")
        if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
    )
    if not images:
        raise ImportInputError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) under {images_dir}")
    records, stats = [], {"rows": 0, "rows_without_image": 0, "images_without_row": 0}
    if config.metadata is not None:
        records = _records_from_table(config, config.metadata, images, stats)
    named = {r.image_key for r in records}
    for key in images:
        if key not in named:
            stats["images_without_row"] += 1
            if not config.require_metadata:
                stem = Path(key).stem
                records.append(SourceRecord(id=stem, image_key=key, cover_id=stem, origin=f"import:{key}"))
    if stats["rows_without_image"]:
        log.warning("%d table rows name no image under %s", stats["rows_without_image"], images_dir)
    provenance = {
        "builder": "albumgan-data import",
        "images": str(images_dir),
        "metadata": str(config.metadata) if config.metadata else None,
        "import": stats,
        **config.provenance,
    }
    return build_dataset(
        records,
        lambda key: (images_dir / key).read_bytes(),
        config.out,
        config.clean,
        provenance=provenance,
        overwrite=config.overwrite,
        progress=tqdm_progress,
    )


def read_table(table: Table) -> list[tuple[str, dict]]:
    """("where", row) for each row of a CSV or JSON table, "where" naming the file and line
    (or item) for warnings; ragged CSV rows are dropped with one."""
    path = table.path
    if not path.is_file():
        raise ImportInputError(f"metadata table {path} does not exist")
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(path.read_text(encoding="utf-8"))
            rows = (
                data
                if isinstance(data, list)
                else next((data[k] for k in ("items", "tracks", "data") if isinstance(data, dict) and k in data), None)
            )
            if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
                raise ImportInputError(f'{path}: expected a JSON list of objects or {{"items": [...]}}')
            return [(f"{path} item {number}", row) for number, row in enumerate(rows, 1)]
        return table.csv_rows()[1]
    except (json.JSONDecodeError, UnicodeDecodeError, csv.Error) as exc:
        raise ImportInputError(f"cannot read metadata table {path}: {exc}") from None


def _records_from_table(config: ImportConfig, table: Path, images: list[str], stats: dict) -> list[SourceRecord]:
    reading = Table(table)
    rows = read_table(reading)
    stats["rows"] = len(rows)
    if not rows:
        return []
    columns = {str(c).strip().lower(): c for c in rows[0][1]}
    key_column, by_id = _key_column(config, columns)
    lookup: dict[str, str] = {}
    for key in images:
        path = Path(key)
        for alias in (path.stem,) if by_id else (key, path.name):
            lookup.setdefault(alias, key)
    id_column = next((columns[c] for c in ID_COLUMNS if c in columns), None)
    source = config.source_name or f"metadata:{table.name}"
    records = []
    for number, (where, row) in enumerate(rows):
        raw_key = str(row.get(key_column) or "").strip()
        image = lookup.get(raw_key) or (None if by_id else lookup.get(Path(raw_key).name))
        if image is None:
            stats["rows_without_image"] += 1
            continue
        features, sources = _features(reading, where, row, columns, source)
        stem = Path(image).stem
        records.append(
            SourceRecord(
                id=str(row.get(id_column) or "").strip() if id_column else f"{stem}:{number}",
                image_key=image,
                cover_id=stem,
                track_name=_text(row, columns, "track_name"),
                album_name=_text(row, columns, "album_name"),
                artists=_text(row, columns, "artists"),
                release_year=_year(_text(row, columns, "release_year")),
                origin=f"import:{image}",
                features=features,
                sources=sources,
            )
        )
    return records


def _key_column(config: ImportConfig, columns: dict[str, str]) -> tuple[str, bool]:
    """(column naming each row's image, whether it holds ids matched to file stems)."""
    if config.key_column:
        if config.key_column.lower() not in columns:
            raise ImportInputError(
                f"{config.metadata} has no column {config.key_column!r} (it has {', '.join(columns.values())})"
            )
        name = columns[config.key_column.lower()]
        return name, name.lower() not in IMAGE_COLUMNS
    for candidates, by_id in ((IMAGE_COLUMNS, False), (ID_COLUMNS, True)):
        for c in candidates:
            if c in columns:
                return columns[c], by_id
    raise ImportInputError(
        f"{config.metadata} has no image column ({', '.join(IMAGE_COLUMNS)}) "
        f"or id column ({', '.join(ID_COLUMNS)}); pass --key-column"
    )


def _features(table: Table, where: str, row: dict, columns: dict[str, str], default_source: str) -> tuple[dict, dict]:
    features, sources = {}, {}
    for name in DEFAULT_SCHEMA.names:
        value = table.feature(where, name, row.get(columns.get(name, "")))
        features[name] = value
        if value is not None:
            sources[name] = str(row.get(columns.get(f"{name}_source", ""), "") or "").strip() or default_source
    return features, sources


def _text(row: dict, columns: dict[str, str], field_name: str) -> str:
    for alias in TEXT_COLUMNS[field_name]:
        if alias in columns and row.get(columns[alias]) not in (None, ""):
            value = row[columns[alias]]
            return ", ".join(map(str, value)) if isinstance(value, list) else str(value).strip()
    return ""


def _year(text: str) -> int | None:
    match = re.match(r"^\s*(\d{4})", text)
    return int(match.group(1)) if match else None
