"""Build the default training dataset from ../shared/data through the local importer.

    .venv/bin/python scripts/build_shared_covers.py --shared /work/shared/data \
        --out data/covers --resolution 64 --resolution 128

Joins covers-256-sources.csv (image -> original file names) to popularity_index.csv (file
stem `key` -> track name, popularity, playlist), turns each playlist into weak audio-feature
labels through training/data/recipes/shared_covers.toml and audio-features-by-genre.csv,
writes that as one metadata table, and imports covers-256/ with it (one item per cover:
names sharing a cover get the MEAN of their popularity and labels). The images are never
committed or distributed.
"""

from __future__ import annotations

import argparse
import csv
import logging
import sys
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

from albumgan.labels import DEFAULT_SCHEMA
from albumgan.training.data.clean import CleanConfig
from albumgan.training.data.format import ShardedDataset
from albumgan.training.data.importer import ImportConfig, import_images
from albumgan.training.data_cli import format_stats

RECIPE = Path(__file__).resolve().parents[1] / "training/data/recipes/shared_covers.toml"
AUDIO_FEATURES = [n for n in DEFAULT_SCHEMA.names if n != "popularity"]
POPULARITY_SOURCE = "popularity_index.csv"


@dataclass
class Recipe:
    playlist_genres: dict[str, str]
    unlabelled: list[str]

    @classmethod
    def load(cls, path: Path) -> Recipe:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        unknown = set(data) - {"playlist_genres", "unlabelled"} or set(data.get("unlabelled", {})) - {"playlists"}
        if unknown:
            raise ValueError(f"{path}: unknown keys {sorted(unknown)}")
        genres, unlabelled = data.get("playlist_genres", {}), data.get("unlabelled", {}).get("playlists", [])
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in genres.items()):
            raise ValueError(f"{path}: [playlist_genres] maps playlist names to genre names (strings)")
        if not isinstance(unlabelled, list) or not all(isinstance(p, str) for p in unlabelled):
            raise ValueError(f"{path}: [unlabelled] playlists must be a list of strings")
        return cls(genres, unlabelled)


def genre_features(path: Path, wanted: set[str]) -> dict[str, dict[str, float]]:
    with open(path, newline="", encoding="utf-8") as f:
        table = {
            row["genres"]: {n: float(row[n]) for n in AUDIO_FEATURES}
            for row in csv.DictReader(f)
            if row["genres"] in wanted
        }
    missing = wanted - set(table)
    if missing:
        raise ValueError(f"{path} has no genre named {sorted(missing)}")
    return table


def metadata_rows(shared: Path, recipe: Recipe) -> list[dict]:
    """One row per original file name: its image, own popularity, and weak genre labels."""
    genres = genre_features(shared / "audio-features-by-genre.csv", set(recipe.playlist_genres.values()))
    with open(shared / "popularity_index.csv", newline="", encoding="utf-8") as f:
        tracks = {row["key"]: row for row in csv.DictReader(f)}
    rows = []
    with open(shared / "covers-256-sources.csv", newline="", encoding="utf-8") as f:
        for source in csv.DictReader(f):
            key = Path(source["source_filename"]).stem
            track = tracks.get(key)
            row = {"image": source["image"], "id": key, "track_name": track["track_name"] if track else ""}
            if track is None:
                rows.append(row)  # the image is kept, unlabelled
                continue
            row.update(popularity=track["popularity"], popularity_source=POPULARITY_SOURCE)
            playlist = track["playlist_name"]
            if playlist in recipe.playlist_genres:
                genre = recipe.playlist_genres[playlist]
                for name in AUDIO_FEATURES:
                    row[name] = genres[genre][name]
                    row[f"{name}_source"] = f"genre-mean:{genre}"
            elif playlist not in recipe.unlabelled:
                raise ValueError(
                    f"playlist {playlist!r} is neither in [playlist_genres] nor [unlabelled] of the recipe"
                )
            rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=Path("/work/shared/data"))
    parser.add_argument("--out", type=Path, default=Path("data/covers"))
    parser.add_argument("--resolution", type=int, action="append")
    parser.add_argument("--recipe", type=Path, default=RECIPE)
    parser.add_argument("--overwrite", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    recipe = Recipe.load(args.recipe)
    rows = metadata_rows(args.shared, recipe)
    columns = ["image", "id", "track_name", "popularity", "popularity_source"]
    columns += [c for n in AUDIO_FEATURES for c in (n, f"{n}_source")]
    provenance = {
        "recipe": "scripts/build_shared_covers.py + training/data/recipes/shared_covers.toml",
        "images": (
            "covers-256 from sabinabains/dsc-capstone (no licence given): project development only, never distributed"
        ),
        # The importer would record the temporary table's path, which means nothing later.
        "metadata": (
            "made by the recipe from popularity_index.csv, covers-256-sources.csv and audio-features-by-genre.csv"
        ),
        "popularity": (
            "each track's own Spotify popularity (popularity_index.csv); the mean over the names sharing a cover"
        ),
        "weak_labels": (
            "danceability, acousticness, energy, instrumentalness, liveness, loudness, speechiness, tempo and valence "
            "are NOT the tracks' own: each is the mean for the genre of the playlist the cover came from "
            "(audio-features-by-genre.csv), source 'genre-mean:<genre>'; missing for playlists without a genre"
        ),
        "playlist_genres": recipe.playlist_genres,
    }
    with tempfile.TemporaryDirectory() as tmp:
        table = Path(tmp) / "shared_covers_metadata.csv"
        with open(table, "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=columns)
            writer.writeheader()
            writer.writerows(rows)
        config = ImportConfig(
            images_dir=args.shared / "covers-256",
            out=args.out,
            metadata=table,
            key_column="image",
            clean=CleanConfig(resolutions=tuple(sorted(set(args.resolution or [64, 128]))), unit="cover"),
            provenance=provenance,
            overwrite=args.overwrite,
        )
        path, report = import_images(config)
    print(f"wrote {path}: {report.summary()}")
    print(format_stats(ShardedDataset(path)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
