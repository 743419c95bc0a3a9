"""Crawl throughput against the loopback fakes (tracks/s, end to end: seeds, albums with
paging, covers, features, cleaning, dataset at 64 px), in Feb-2026 development mode (no
batch endpoints: one popularity request per track) and with batch endpoints.

    .venv/bin/python benchmarks/crawl_throughput.py [--albums 40 --tracks 10]

The fakes answer in well under a millisecond, so this measures the client side (spotipy,
SQLite commits, image handling); against the real API, network latency and rate limits
dominate.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from albumgan.sources import ProviderChain, SpotifyCatalog, build_providers, spotify_client
from albumgan.training.data.clean import CleanConfig
from albumgan.training.data.crawl import DEFAULT_PROVIDERS, CrawlConfig, Crawler
from albumgan.training.data.crawl_state import CrawlState
from fakes.reccobeats import FakeReccoBeats
from fakes.spotify import FakeSpotify, make_catalog


def crawl_once(catalog, batch_endpoints: bool, workdir: Path) -> tuple[float, int, int]:
    with FakeSpotify(catalog) as spotify, FakeReccoBeats(catalog) as recco:
        spotify.batch_endpoints = batch_endpoints
        client = SpotifyCatalog(
            spotify_client("test-id", "test-secret", api_base=spotify.api_base, token_url=spotify.token_url)
        )
        chain = ProviderChain(
            build_providers(DEFAULT_PROVIDERS, catalog=client, reccobeats_base_url=recco.base_url), on_error="raise"
        )
        config = CrawlConfig(
            seeds=[f"artist:{a}" for a in catalog.artists], out=workdir / "ds", clean=CleanConfig(resolutions=(64,))
        )
        start = time.perf_counter()
        with CrawlState(workdir / "crawl.sqlite") as state:
            Crawler(config, client, state, chain).run()
        elapsed = time.perf_counter() - start
        return elapsed, len(spotify.requests), len(recco.requests)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--albums", type=int, default=40)
    parser.add_argument("--tracks", type=int, default=10)
    args = parser.parse_args()
    catalog = make_catalog(args.albums, args.tracks, seed=1)
    n = len(catalog.tracks)
    for batch in (False, True):
        with tempfile.TemporaryDirectory() as tmp:
            elapsed, spotify_requests, recco_requests = crawl_once(catalog, batch, Path(tmp))
        mode = "batch endpoints" if batch else "dev mode (no batch)"
        print(
            f"{mode:<20} {n} tracks, {args.albums} albums: {elapsed:.2f} s, {n / elapsed:.0f} tracks/s, "
            f"{spotify_requests} Spotify + {recco_requests} ReccoBeats requests"
        )


if __name__ == "__main__":
    main()
