"""`albumgan-data`: build training datasets.

    albumgan-data crawl --seeds "search:lofi" album:<id> --out DATASET --state crawl.sqlite \
        --resolution 64 --resolution 128
    albumgan-data import IMAGES_DIR [--metadata table.csv|json] --out DATASET
    albumgan-data stats DATASET
    albumgan-data split DATASET --holdout 100 --train-out TRAIN --holdout-out HELD

Exit codes: 0 done, 2 bad input, 69 a service is unavailable, 75 rate limited (state
saved: run the same command again after the time printed).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections import Counter
from pathlib import Path

import numpy as np

from albumgan.logsafe import configure_logging
from albumgan.sources import (
    ProviderChain,
    RateLimited,
    RetryPolicy,
    SourceError,
    SpotifyCatalog,
    Unavailable,
    build_providers,
    spotify_client,
)
from albumgan.training.data.clean import UNITS, BuildReport, CleanConfig
from albumgan.training.data.crawl import DEFAULT_PROVIDERS, CrawlConfig, Crawler
from albumgan.training.data.crawl_state import CrawlState
from albumgan.training.data.format import DatasetError, ShardedDataset
from albumgan.training.data.importer import ImportConfig, import_images
from albumgan.training.data.split import split_dataset

log = logging.getLogger("albumgan-data")

EXIT_BAD_INPUT = 2
EXIT_UNAVAILABLE = 69
EXIT_RATE_LIMITED = 75


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    configure_logging(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        return args.run(args)
    except RateLimited as exc:
        log.error("%s. Crawl state is saved; run the same command again after that time to resume.", exc)
        return EXIT_RATE_LIMITED
    except Unavailable as exc:
        log.error("%s. Crawl state is saved; run the same command again to resume.", exc)
        return EXIT_UNAVAILABLE
    except (DatasetError, SourceError, ValueError, OSError) as exc:
        log.error("%s", exc)
        return EXIT_BAD_INPUT


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="albumgan-data", description="Build albumgan training datasets.")
    parser.add_argument("-v", "--verbose", action="store_true")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    crawl = commands.add_parser("crawl", help="crawl Spotify (read docs/DATASETS.md first)")
    crawl.add_argument(
        "--seeds", nargs="+", default=[], help="search:<query>, artist:/album:/track:/playlist:<id|URI|URL>"
    )
    crawl.add_argument("--seeds-file", type=Path, help="one seed per line")
    crawl.add_argument("--state", type=Path, required=True, help="SQLite crawl state (resumable)")
    crawl.add_argument("--images", type=Path, help="where downloaded covers go (default: next to the state)")
    crawl.add_argument("--search-results", type=int, default=50, help="albums per search seed (default 50)")
    crawl.add_argument("--max-albums", type=int)
    crawl.add_argument(
        "--providers", nargs="+", default=None, help="feature providers, in order (default: all but local)"
    )
    crawl.add_argument("--local-features", type=Path, help="dataset dir or CSV for the 'local' provider")
    crawl.add_argument("--api-base", default="https://api.spotify.com/v1/")
    crawl.add_argument("--token-url", default="https://accounts.spotify.com/api/token")
    crawl.add_argument("--reccobeats-url", default="https://api.reccobeats.com")
    crawl.add_argument(
        "--max-retry-after", type=float, default=60.0, help="longest Retry-After to sleep in-process (s)"
    )
    crawl.add_argument("--market", help="ISO country code for reproducible results")
    _add_build_options(crawl)
    crawl.set_defaults(run=_crawl)

    imp = commands.add_parser("import", help="import a folder of images plus an optional table")
    imp.add_argument("images_dir", type=Path)
    imp.add_argument("--metadata", type=Path, help="CSV or JSON table of tracks/features")
    imp.add_argument("--key-column", help="table column naming each row's image (path, file name, or id = file stem)")
    imp.add_argument("--source-name", help="provider name recorded for the table's feature values")
    imp.add_argument("--require-metadata", action="store_true", help="drop images that no table row names")
    _add_build_options(imp)
    imp.set_defaults(run=_import)

    stats = commands.add_parser("stats", help="counts, feature distributions, missing rates, providers")
    stats.add_argument("dataset", type=Path)
    stats.set_defaults(run=_stats)

    split = commands.add_parser("split", help="hold out real covers the model never trains on")
    split.add_argument("dataset", type=Path)
    split.add_argument("--holdout", type=int, required=True, help="number of items to hold out")
    split.add_argument("--train-out", type=Path, required=True)
    split.add_argument("--holdout-out", type=Path, required=True)
    split.add_argument("--seed", type=int, default=0)
    split.add_argument("--overwrite", action="store_true")
    split.set_defaults(run=_split)
    return parser


def _add_build_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, required=True, help="dataset directory to write")
    parser.add_argument("--resolution", type=int, action="append", help="training resolution (repeatable; default 64)")
    parser.add_argument(
        "--unit", choices=UNITS, default="cover", help="one item per distinct cover (default) or per track"
    )
    parser.add_argument("--min-size", type=int, default=32, help="reject images whose shorter side is smaller")
    parser.add_argument("--dedupe-bits", type=int, default=4, help="near-duplicate threshold in dHash bits (default 4)")
    parser.add_argument("--no-dedupe", action="store_true", help="keep near-duplicate covers")
    parser.add_argument("--popularity", nargs=2, type=float, metavar=("MIN", "MAX"))
    parser.add_argument("--years", nargs=2, type=int, metavar=("FIRST", "LAST"), help="release-year range")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing dataset")


def _clean_config(args) -> CleanConfig:
    return CleanConfig(
        resolutions=tuple(sorted(set(args.resolution or [64]))),
        unit=args.unit,
        min_size=args.min_size,
        dedupe_bits=None if args.no_dedupe else args.dedupe_bits,
        popularity_range=tuple(args.popularity) if args.popularity else (None, None),
        year_range=tuple(args.years) if args.years else (None, None),
    )


def _crawl(args) -> int:
    seeds = list(args.seeds)
    if args.seeds_file:
        seeds += [s.strip() for s in args.seeds_file.read_text().splitlines() if s.strip() and not s.startswith("#")]
    config = CrawlConfig(
        seeds=seeds,
        out=args.out,
        clean=_clean_config(args),
        search_results=args.search_results,
        max_albums=args.max_albums,
        overwrite=args.overwrite,
    )
    retry = RetryPolicy(max_retry_after_s=args.max_retry_after)
    catalog = SpotifyCatalog(
        spotify_client(api_base=args.api_base, token_url=args.token_url), retry=retry, market=args.market
    )
    providers = build_providers(
        args.providers or DEFAULT_PROVIDERS,
        catalog=catalog,
        reccobeats_base_url=args.reccobeats_url,
        local_path=args.local_features,
        retry=retry,
    )
    with CrawlState(args.state, args.images) as state:
        path, report = Crawler(config, catalog, state, ProviderChain(providers, on_error="raise")).run()
    _print_report(path, report)
    return 0


def _import(args) -> int:
    config = ImportConfig(
        images_dir=args.images_dir,
        out=args.out,
        metadata=args.metadata,
        key_column=args.key_column,
        source_name=args.source_name,
        require_metadata=args.require_metadata,
        clean=_clean_config(args),
        overwrite=args.overwrite,
    )
    path, report = import_images(config)
    _print_report(path, report)
    return 0


def _print_report(path: Path, report: BuildReport) -> None:
    print(f"wrote {path}: {report.summary()}")
    for reason, example in sorted(report.reject_examples.items()):
        print(f"  rejected ({reason}), e.g. {example}")


def _split(args) -> int:
    train, held = split_dataset(
        args.dataset, args.holdout, args.train_out, args.holdout_out, seed=args.seed, overwrite=args.overwrite
    )
    print(f"wrote {train} ({len(ShardedDataset(train))} items) and {held} ({len(ShardedDataset(held))} items)")
    return 0


def _stats(args) -> int:
    print(format_stats(ShardedDataset(args.dataset)))
    return 0


def format_stats(dataset: ShardedDataset) -> str:
    manifest = dataset.manifest
    lines = [
        f"dataset {dataset.root}",
        f"  items {len(dataset)}, resolutions {manifest['resolutions']}, content hash {dataset.content_hash[:16]}",
    ]
    build = manifest.get("provenance", {}).get("build")
    if build:
        lines.append(
            f"  build: unit {build.get('unit')}, rejected {build.get('rejected')}, "
            f"near duplicates {build.get('near_duplicates')}, exact duplicates {build.get('exact_duplicates')}, "
            f"filtered {build.get('filtered')}"
        )
    lines.append(f"  {'feature':<17}{'present':>8}{'missing':>9}{'min':>10}{'mean':>10}{'max':>10}  providers")
    for name in dataset.schema.names:
        values = np.array(
            [it.features[name] for it in dataset.items if it.features.get(name) is not None], dtype=np.float64
        )
        missing = 1 - len(values) / max(1, len(dataset))
        shares = Counter(it.feature_sources.get(name, "?") for it in dataset.items if it.features.get(name) is not None)
        providers = (
            ", ".join(f"{src} {n / len(values):.0%}" for src, n in shares.most_common(4)) if len(values) else "-"
        )
        if len(shares) > 4:
            providers += f", +{len(shares) - 4} more"
        low, mean, high = (
            (f"{values.min():.3f}", f"{values.mean():.3f}", f"{values.max():.3f}") if len(values) else ("-", "-", "-")
        )
        lines.append(f"  {name:<17}{len(values):>8}{missing:>9.1%}{low:>10}{mean:>10}{high:>10}  {providers}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
