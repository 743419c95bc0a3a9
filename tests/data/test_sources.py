"""albumgan.sources against the fake Spotify and ReccoBeats servers, through the real
spotipy and requests clients over loopback sockets."""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest

from albumgan.links import spotify_id
from albumgan.sources import (
    FEATURE_NAMES,
    FeatureSet,
    LocalFeatures,
    NotFound,
    ProviderChain,
    RateLimited,
    ReccoBeats,
    ReccoBeatsClient,
    ReccoBeatsPopularity,
    RetryPolicy,
    SpotifyAudioFeatures,
    SpotifyCatalog,
    SpotifyPopularity,
    SpotifyUnavailable,
    build_providers,
    spotify_client,
)


def test_sources_package_does_not_import_torch():
    code = "import sys, albumgan.sources; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_spotify_id_accepts_ids_uris_and_links():
    tid = "6rqhFgbbKwnb9MLmUQDhG6"
    assert spotify_id(tid, "track") == tid
    assert spotify_id(f"spotify:track:{tid}", "track") == tid
    assert spotify_id(f"https://open.spotify.com/intl-de/track/{tid}?si=22cad793e8e248fe", "track") == tid
    with pytest.raises(ValueError, match="That's a track link: use /cover"):
        spotify_id(f"https://open.spotify.com/track/{tid}", "album")
    with pytest.raises(ValueError, match="short link"):
        spotify_id("https://spotify.link/abc", "track")


def test_client_gets_a_token_and_reads_a_track(fake_spotify, spotify, catalog):
    track = catalog.tracks[next(iter(catalog.tracks))]
    got = spotify.track(track.id)
    assert got["name"] == track.name and got["popularity"] == track.popularity
    assert got["album"]["images"][0]["width"] == 640  # widest first
    assert fake_spotify.tokens_issued == 1
    assert fake_spotify.count(r"^GET /v1/tracks/" + track.id) == 1


def test_unknown_and_malformed_ids_are_not_found(spotify):
    with pytest.raises(NotFound) as info:
        spotify.track("0" * 22)
    assert info.value.kind == "track"
    with pytest.raises(NotFound):
        spotify.album("not-an-id")


def test_bad_credentials_and_missing_env_are_clear(fake_spotify, monkeypatch):
    sp = spotify_client("test-id", "wrong", api_base=fake_spotify.api_base, token_url=fake_spotify.token_url)
    with pytest.raises(SpotifyUnavailable, match="refused the client credentials"):
        SpotifyCatalog(sp).track("0" * 22)
    with pytest.raises(SpotifyUnavailable, match="SPOTIPY_CLIENT_ID"):
        spotify_client(api_base=fake_spotify.api_base)
    monkeypatch.setenv("SPOTIPY_CLIENT_ID", "test-id")
    monkeypatch.setenv("SPOTIPY_CLIENT_SECRET", "test-secret")
    env_client = SpotifyCatalog(spotify_client(api_base=fake_spotify.api_base, token_url=fake_spotify.token_url))
    assert env_client.artist(next(iter(fake_spotify.catalog.artists)))["type"] == "artist"


def test_album_tracks_follow_absolute_next_links(fake_spotify, spotify, catalog):
    fake_spotify.page_cap = 2
    album = catalog.album_list[0]
    first = spotify.album(album.id)
    assert first["tracks"]["next"].startswith(fake_spotify.base_url)
    tracks = spotify.album_tracks(album.id, first_page=first["tracks"])
    assert [t["id"] for t in tracks] == album.track_ids
    assert fake_spotify.count(rf"/v1/albums/{album.id}/tracks\?offset=") == 2  # 5 tracks, pages of 2


def test_batch_tracks_fall_back_to_single_requests_after_403(fake_spotify, spotify, catalog, caplog):
    ids = list(catalog.tracks)[:4] + ["0" * 22]
    assert [t and t["id"] for t in spotify.tracks(ids)] == ids[:4] + [None]
    assert fake_spotify.count(r"^GET /v1/tracks/\?ids=") == 1
    fake_spotify.batch_endpoints = False
    fake_spotify.popularity = False
    with caplog.at_level(logging.WARNING, logger="albumgan.sources.spotify"):
        got = spotify.tracks(ids)
        spotify.tracks(ids[:2])
    assert [t and t["id"] for t in got] == ids[:4] + [None]
    assert all("popularity" not in t for t in got if t)
    assert fake_spotify.count(r"^GET /v1/tracks/\?ids=") == 2  # one refused batch, then singles only
    assert len([r for r in caplog.records if "one request per track" in r.message]) == 1


def test_small_retry_after_is_slept_then_retried(fake_spotify, spotify, sleeps, catalog):
    album = catalog.album_list[0]
    fake_spotify.inject(r"/v1/albums/", 429, retry_after=2)
    assert spotify.album(album.id)["id"] == album.id
    assert sleeps.calls == [2.0]


def test_huge_retry_after_raises_rate_limited_without_sleeping(fake_spotify, spotify, sleeps, catalog):
    fake_spotify.inject(r"/v1/albums/", 429, retry_after=86400)
    with pytest.raises(RateLimited) as info:
        spotify.album(catalog.album_list[0].id)
    assert info.value.retry_after_s == 86400 and info.value.service == "spotify"
    assert sleeps.calls == []


def test_server_errors_are_retried_then_reported(fake_spotify, spotify, sleeps, catalog):
    album = catalog.album_list[0]
    fake_spotify.inject(r"/v1/albums/", 502, times=2)
    assert spotify.album(album.id)["id"] == album.id
    assert len(sleeps.calls) == 2
    fake_spotify.inject(r"/v1/albums/", 503, times=None)
    with pytest.raises(SpotifyUnavailable, match="HTTP 503"):
        spotify.album(album.id)


def test_slow_responses_time_out_as_unavailable(fake_spotify, catalog):
    sp = spotify_client("test-id", "test-secret", api_base=fake_spotify.api_base, token_url=fake_spotify.token_url, timeout_s=0.2)
    client = SpotifyCatalog(sp, retry=RetryPolicy(max_attempts=2, sleep=lambda s: None))
    client.artist(next(iter(catalog.artists)))  # token fetched before the slow path
    fake_spotify.inject(r"/v1/albums/", None, times=None, delay_s=0.6)
    with pytest.raises(SpotifyUnavailable, match="Timeout"):
        client.album(catalog.album_list[0].id)


def test_search_caps_limit_at_ten_and_pages(fake_spotify, spotify, catalog):
    fake_spotify.catalog = catalog
    found = list(spotify.search_all("the", "album", max_results=30))
    assert {item["id"] for _, item in found} == set(catalog.albums)
    assert all("limit=10" in line for line in fake_spotify.requests if "/v1/search" in line)


def test_playlist_tracks_skip_null_items(spotify, catalog):
    playlist = next(iter(catalog.playlists.values()))
    tracks = spotify.playlist_tracks(playlist.id)
    assert [t["id"] for t in tracks] == [t for t in playlist.track_ids if t]


def test_spotify_audio_features_403_turns_provider_off_with_one_log_line(fake_spotify, spotify, catalog, caplog):
    provider = SpotifyAudioFeatures(spotify)
    ids = list(catalog.tracks)[:3]
    with caplog.at_level(logging.WARNING, logger="albumgan.sources.features"):
        assert provider.fetch(ids) == {}
        chain = ProviderChain([provider])
        chain.fetch(ids)
    assert not provider.enabled
    assert fake_spotify.count(r"/v1/audio-features") == 1
    assert len([r for r in caplog.records if "403" in r.message]) == 1


def test_spotify_audio_features_skip_null_entries(fake_spotify, spotify, catalog):
    fake_spotify.audio_features_forbidden = False
    ids = list(catalog.tracks)
    got = SpotifyAudioFeatures(spotify).fetch(ids)
    expected = {t for t in ids if catalog.tracks[t].spotify_has_features}
    assert set(got) == expected and len(expected) < len(ids)
    some = next(iter(expected))
    assert got[some]["energy"] == catalog.tracks[some].features["energy"]
    assert "popularity" not in got[some]


def test_reccobeats_maps_items_back_through_href_in_chunks_of_40(fake_recco):
    from fakes.spotify import make_catalog

    big = make_catalog(n_albums=9, tracks_per_album=10, seed=5)
    fake_recco.catalog = big
    ids = list(big.tracks) + ["0" * 22]
    client = ReccoBeatsClient(fake_recco.base_url)
    got = client.audio_features(ids)
    assert set(got) == {t for t in big.tracks if big.tracks[t].reccobeats_knows}
    assert fake_recco.count(r"^GET /v1/audio-features") == 3  # 91 ids -> 40 + 40 + 11
    popularity = ReccoBeatsPopularity(client=client).fetch(ids[:10])
    assert all(popularity[t]["popularity"] == big.tracks[t].popularity for t in popularity)


def test_reccobeats_rate_limit_past_cap_raises(fake_recco, catalog):
    fake_recco.inject(r"/v1/audio-features", 429, retry_after=3600)
    client = ReccoBeatsClient(fake_recco.base_url, retry=RetryPolicy(max_retry_after_s=10, sleep=lambda s: None))
    with pytest.raises(RateLimited) as info:
        client.audio_features(list(catalog.tracks)[:3])
    assert info.value.service == "reccobeats"


def test_chain_fills_in_order_and_records_sources(fake_spotify, fake_recco, spotify, catalog):
    ids = list(catalog.tracks)
    providers = build_providers(
        ["spotify-audio-features", "spotify-popularity", "reccobeats", "reccobeats-popularity"],
        catalog=spotify,
        reccobeats_base_url=fake_recco.base_url,
    )
    result = ProviderChain(providers).fetch(ids)
    for tid, fs in result.items():
        truth = catalog.tracks[tid]
        assert fs.values["popularity"] == truth.popularity and fs.sources["popularity"] == "spotify-popularity"
        if truth.reccobeats_knows:
            assert fs.values["valence"] == truth.features["valence"] and fs.sources["valence"] == "reccobeats"
        else:
            assert fs.missing == frozenset(FEATURE_NAMES) - {"popularity"}
    # popularity was known after Spotify: ReccoBeats' /v1/track was never asked
    assert fake_recco.count(r"/v1/track\?") == 0


def test_chain_keeps_known_values_and_skips_failing_providers(fake_recco, catalog):
    ids = list(catalog.tracks)[:4]
    known = FeatureSet()
    known.fill({"popularity": 42}, "spotify-track")
    fake_recco.inject(r"/v1/audio-features", 503, times=None)
    client = ReccoBeatsClient(fake_recco.base_url, retry=RetryPolicy(max_attempts=1))
    chain = ProviderChain([ReccoBeats(client=client), ReccoBeatsPopularity(client=client)])
    result = chain.fetch(ids, known={ids[0]: known})
    assert result[ids[0]].values["popularity"] == 42 and result[ids[0]].sources["popularity"] == "spotify-track"
    assert "reccobeats" in result[ids[0]].errors
    with pytest.raises(Exception, match="ReccoBeats is unavailable"):
        ProviderChain([ReccoBeats(client=client)], on_error="raise").fetch(ids)


def test_local_features_from_csv_and_unknown_provider_name(tmp_path):
    table = tmp_path / "features.csv"
    table.write_text("track_id,energy,tempo,popularity\nabc,0.5,120,\ndef,bad,90,12\n")
    provider = LocalFeatures(table)
    assert provider.fetch(["abc", "def", "zzz"]) == {"abc": {"energy": 0.5, "tempo": 120.0}, "def": {"tempo": 90.0, "popularity": 12.0}}
    with pytest.raises(ValueError, match="unknown feature provider 'echonest'"):
        build_providers(["echonest"])
    with pytest.raises(ValueError, match="needs a Spotify catalog"):
        build_providers(["spotify-popularity"])


def test_spotify_popularity_provider_tolerates_missing_field(fake_spotify, spotify, catalog):
    fake_spotify.popularity = False
    assert SpotifyPopularity(spotify).fetch(list(catalog.tracks)[:3]) == {}
