"""The crawler end to end against the fake Spotify and ReccoBeats: a catalogue of ~100
tracks with odd covers, interrupted and resumed runs, and the CLI's rate-limit stop."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from albumgan.sources import (
    ProviderChain,
    RateLimited,
    RetryPolicy,
    SpotifyCatalog,
    build_providers,
    spotify_client,
)
from albumgan.training.data.clean import CleanConfig
from albumgan.training.data.crawl import DEFAULT_PROVIDERS, CrawlConfig, Crawler
from albumgan.training.data.crawl_state import CrawlState
from albumgan.training.data.format import ShardedDataset
from albumgan.training.data_cli import EXIT_RATE_LIMITED, main
from fakes.reccobeats import FakeReccoBeats
from fakes.spotify import FakeSpotify, make_catalog

ALBUM_GET = r"^GET /v1/albums/[0-9A-Za-z]{22}(\?|$)"


@pytest.fixture(scope="module")
def big_catalog():
    return make_catalog(n_albums=12, tracks_per_album=8, seed=7, odd_covers=True)  # 96 tracks


@pytest.fixture
def servers(big_catalog):
    with FakeSpotify(big_catalog) as spotify, FakeReccoBeats(big_catalog) as recco:
        spotify.page_cap = 5  # albums of 8 tracks need a second page
        spotify.batch_endpoints = False  # Feb 2026 development mode
        yield spotify, recco


def seeds_for(catalog) -> list[str]:
    return [f"artist:{a}" for a in catalog.artists] + [f"playlist:{p}" for p in catalog.playlists] + ["search:the"]


def crawl(servers, tmp_path: Path, name: str, *, state_name: str = "crawl.sqlite", overwrite=False):
    spotify, recco = servers
    catalog = SpotifyCatalog(
        spotify_client("test-id", "test-secret", api_base=spotify.api_base, token_url=spotify.token_url, timeout_s=5),
        retry=RetryPolicy(max_retry_after_s=1, sleep=lambda s: None),
    )
    chain = ProviderChain(build_providers(DEFAULT_PROVIDERS, catalog=catalog, reccobeats_base_url=recco.base_url), on_error="raise")
    config = CrawlConfig(
        seeds=seeds_for(spotify.catalog),
        out=tmp_path / name,
        clean=CleanConfig(resolutions=(16, 32)),
        search_results=20,
        overwrite=overwrite,
    )
    with CrawlState(tmp_path / state_name) as state:
        return Crawler(config, catalog, state, chain).run()


def test_crawl_end_to_end(servers, tmp_path, big_catalog):
    spotify, recco = servers
    path, report = crawl(servers, tmp_path, "ds")
    # 12 albums; album 1's cover is truncated (rejected), album 6 shares album 0's cover
    # bytes (stored once), album 7's is a re-encoded copy of it (near duplicate).
    assert report.records == 96 and report.images == 11
    assert dict(report.rejected) == {"truncated": 1} and report.near_duplicates == 1
    data = ShardedDataset(path, 32)
    assert len(data) == 9 and data.manifest["resolutions"] == [16, 32]
    assert data.batch(np.arange(len(data))).shape == (9, 32, 32, 3)
    first_album = big_catalog.album_list[8]  # a cover nobody shares
    item = next(it for it in data.items if it.id == first_album.id)
    assert item.album_name == first_album.name and item.image_sha256
    tracks = [big_catalog.tracks[t] for t in first_album.track_ids]
    # cover items average their tracks' features; sources name the provider
    assert item.features["popularity"] == pytest.approx(np.mean([t.popularity for t in tracks]))
    assert item.feature_sources["popularity"] == "spotify-popularity"
    known = [t.features["energy"] for t in tracks if t.reccobeats_knows]
    assert item.features["energy"] == pytest.approx(np.mean(known)) and item.feature_sources["energy"] == "reccobeats"
    assert data.mask.sum() == len(data) * 10
    # each album and each cover fetched once, album pages followed, audio-features asked once
    for album in big_catalog.album_list:
        assert spotify.count(rf"^GET /v1/albums/{album.id}(\?|$)") == 1
    assert spotify.count(r"/tracks/?\?offset=5") == 12
    assert spotify.count(r"^GET /image/") == 12
    assert spotify.count(r"/v1/audio-features") == 1
    assert all("limit=10" in r for r in spotify.requests if "/v1/search" in r)


def test_interrupted_crawl_resumes_to_the_same_dataset(servers, tmp_path, big_catalog):
    spotify, _ = servers
    spotify.inject(ALBUM_GET, 429, skip=4, retry_after=86400)
    with pytest.raises(RateLimited):
        crawl(servers, tmp_path, "ds")
    with sqlite3.connect(tmp_path / "crawl.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM albums WHERE status = 'done'").fetchone()[0] == 4
    spotify.clear_faults()
    path, _ = crawl(servers, tmp_path, "ds")
    counts = sorted(spotify.count(rf"^GET /v1/albums/{a.id}(\?|$)") for a in big_catalog.album_list)
    assert counts == [1] * 11 + [2]  # only the refused album was asked twice
    reference, _ = crawl(servers, tmp_path, "reference", state_name="fresh.sqlite")
    assert ShardedDataset(path).content_hash == ShardedDataset(reference).content_hash


def test_cli_stops_at_once_on_a_huge_retry_after_and_resumes(servers, tmp_path, monkeypatch, capsys, caplog):
    spotify, recco = servers
    monkeypatch.setenv("SPOTIPY_CLIENT_ID", "test-id")
    monkeypatch.setenv("SPOTIPY_CLIENT_SECRET", "test-secret")
    args = cli_args(servers, tmp_path) + ["--max-albums", "5"]
    spotify.inject(ALBUM_GET, 429, skip=2, retry_after=86400)
    assert main(args) == EXIT_RATE_LIMITED  # returns without sleeping a day (the test timeout would catch it)
    assert "resume" in caplog.text
    spotify.clear_faults()
    assert main(args) == 0
    assert "items written" in capsys.readouterr().out
    assert sum(spotify.count(rf"^GET /v1/albums/{a}(\?|$)") for a in spotify.catalog.albums) == 6  # 5 + the refused one


def cli_args(servers, tmp_path: Path) -> list[str]:
    spotify, recco = servers
    return [
        "crawl", "--seeds", *seeds_for(spotify.catalog), "--search-results", "20",
        "--out", str(tmp_path / "ds"), "--state", str(tmp_path / "crawl.sqlite"),
        "--api-base", spotify.api_base, "--token-url", spotify.token_url, "--reccobeats-url", recco.base_url,
        "--resolution", "16", "--max-retry-after", "1",
    ]  # fmt: skip


def test_killed_crawl_restarts_without_duplicates(servers, tmp_path, big_catalog, monkeypatch):
    spotify, _ = servers
    spotify.inject(ALBUM_GET, None, times=None, delay_s=0.2)  # slow enough to be killed mid-way
    env = {**os.environ, "SPOTIPY_CLIENT_ID": "test-id", "SPOTIPY_CLIENT_SECRET": "test-secret"}
    root = Path(__file__).resolve().parents[2]
    code = "import sys; from training.data_cli import main; sys.exit(main(sys.argv[1:]))"
    proc = subprocess.Popen([sys.executable, "-c", code, *cli_args(servers, tmp_path)], env=env, cwd=root, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while done_albums(tmp_path / "crawl.sqlite") < 3:
            assert proc.poll() is None and time.monotonic() < deadline, "the crawl ended before it could be killed"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(10)
    spotify.clear_faults()
    monkeypatch.setenv("SPOTIPY_CLIENT_ID", "test-id")
    monkeypatch.setenv("SPOTIPY_CLIENT_SECRET", "test-secret")
    assert main(cli_args(servers, tmp_path)) == 0
    counts = [spotify.count(rf"^GET /v1/albums/{a.id}(\?|$)") for a in big_catalog.album_list]
    assert all(1 <= c <= 2 for c in counts) and sum(c == 2 for c in counts) <= 1  # at most the one in flight
    with sqlite3.connect(tmp_path / "crawl.sqlite") as db:
        assert db.execute("SELECT COUNT(*), COUNT(DISTINCT id) FROM tracks").fetchone() == (96, 96)
    assert len(ShardedDataset(tmp_path / "ds")) == 9


def done_albums(state: Path) -> int:
    if not state.exists():
        return 0
    try:
        with sqlite3.connect(state, timeout=1) as db:
            return db.execute("SELECT COUNT(*) FROM albums WHERE status = 'done'").fetchone()[0]
    except sqlite3.OperationalError:  # the crawler has not created its tables yet
        return 0


def test_spotify_audio_features_are_used_when_the_app_has_access(servers, tmp_path):
    spotify, recco = servers
    spotify.audio_features_forbidden = False
    path, _ = crawl(servers, tmp_path, "ds")
    shares = {src for it in ShardedDataset(path).items for src in it.feature_sources.values()}
    assert "spotify-audio-features" in shares
    assert recco.count(r"/v1/audio-features") == 1  # only for tracks Spotify had no features for


def test_crawled_dataset_trains_with_the_training_cli(servers, tmp_path):
    from albumgan.training import checkpoint
    from albumgan.training.cli import main as train

    path, _ = crawl(servers, tmp_path, "ds")
    run = tmp_path / "run"
    assert train(["--config", "smoke", "--data", str(path), "--out", str(run), "--set", 'model.kind="acgan"', "--progress", "off"]) == 0
    _, meta = checkpoint.load_generator(run / "checkpoints" / "ckpt-000004.pt")
    assert meta.kind == "acgan" and meta.resolution == 32
    assert meta.dataset["count"] == 9 and meta.dataset["content_hash"] == ShardedDataset(path).content_hash
