"""CoverService end to end: real spotipy and ReccoBeats clients against the loopback fakes,
real tiny ONNX generators, real SQLite."""

from __future__ import annotations

import asyncio
import io

import numpy as np
import pytest
from PIL import Image

from albumgan.bot.service import CoverService
from albumgan.bot.types import Requester, ServiceUnavailable, UserError
from tests.service_fixtures import make_config
from tests.stub_service import pixels

AUDIO = (
    "danceability",
    "acousticness",
    "energy",
    "instrumentalness",
    "liveness",
    "loudness",
    "speechiness",
    "tempo",
    "valence",
)


def track_where(catalog, *, recco_knows: bool):
    return next(t for t in catalog.tracks.values() if t.reccobeats_knows == recco_knows)


def png_size(data: bytes) -> tuple[int, int]:
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG"
    return image.size


async def test_cover_end_to_end(service, catalog, alice, fake_recco, fake_spotify):
    track = track_where(catalog, recco_knows=True)
    result = await service.cover(f"https://open.spotify.com/intl-de/track/{track.id}?si=abc", alice, seed=1234)
    assert result.kind == "cover" and result.generation_id >= 1
    assert result.title == track.name
    assert result.subtitle == catalog.artists[track.artist_ids[0]].name
    assert result.seed == 1234
    assert result.model_name == "acgan-16" and result.model_version
    assert result.source_url == f"https://open.spotify.com/track/{track.id}"
    assert png_size(result.image_png) == (512, 512)
    assert png_size(result.card_png)[0] == 800
    report = result.features
    for name in AUDIO:
        assert report.values[name] == pytest.approx(track.features[name])
        assert report.sources[name] == "reccobeats"
    assert report.values["popularity"] == track.popularity
    assert report.sources["popularity"] == "spotify track"
    assert report.missing_note == "" and report.tracks_used == 1
    assert fake_spotify.count(r"GET /v1/tracks/") == 1


async def test_feature_cache_avoids_second_provider_call(service, catalog, alice, fake_recco, fake_spotify):
    track = track_where(catalog, recco_knows=True)
    first = await service.cover(f"spotify:track:{track.id}", alice)
    second = await service.cover(f"spotify:track:{track.id}", alice)
    assert second.features.values == first.features.values
    assert fake_recco.count(r"/v1/audio-features") == 1
    assert fake_spotify.count(r"GET /v1/tracks/") == 1  # metadata cached too
    assert first.seed == second.seed  # no seed given: the track's own (service.song_seed)


async def test_missing_features_are_masked_and_said(service, catalog, alice, fake_spotify):
    track = track_where(catalog, recco_knows=False)
    result = await service.cover(f"https://open.spotify.com/track/{track.id}", alice)
    report = result.features
    assert report.values["popularity"] == track.popularity
    assert all(report.values[name] is None for name in AUDIO)
    assert "danceability" in report.missing_note and "masked, the model fills them" in report.missing_note
    # Spotify's audio-features was tried (403, like every app since Nov 2024), then turned off
    assert fake_spotify.count(r"/v1/audio-features") == 1
    assert result.card_png is not None


async def test_album_pages_and_averages(service, catalog, alice, fake_spotify):
    fake_spotify.page_cap = 3  # 7 tracks -> the album object's page plus two `next` pages
    album = catalog.album_list[1]
    tracks = [catalog.tracks[t] for t in album.track_ids]
    known = [t for t in tracks if t.reccobeats_knows]
    assert 0 < len(known) < len(tracks)
    result = await service.album(f"https://open.spotify.com/album/{album.id}?si=q", alice, seed=5)
    assert result.kind == "album" and result.title == album.name
    report = result.features
    # every track has popularity (Spotify track objects); audio features only ReccoBeats' ones
    assert (report.tracks_used, report.tracks_total) == (len(tracks), len(tracks))
    assert report.missing_note == (
        f"averaged over {len(tracks)} of {len(tracks)} tracks (9 features from only {len(known)})"
    )
    for name in AUDIO:
        assert report.values[name] == pytest.approx(np.mean([t.features[name] for t in known]))
    assert report.values["popularity"] == pytest.approx(np.mean([t.popularity for t in tracks]))
    assert fake_spotify.count(r"GET /v1/albums/[^/?]+/tracks") == 2


async def test_random_is_reproducible_from_its_seed(service, alice):
    a = await service.random(alice, seed=7)
    b = await service.random(alice, seed=7)
    c = await service.random(alice, seed=8)
    assert pixels(a.image_png) == pixels(b.image_png) != pixels(c.image_png)  # text chunks: their ids
    assert a.subtitle == "seed 7" and a.card_png is None and a.features is None
    assert a.model_name == "unconditional-16"
    random_seed = await service.random(alice)
    assert 0 <= random_seed.seed < 2**32


@pytest.mark.parametrize("seed", [-1, 2**32, True, "7"])
async def test_bad_seeds(service, alice, seed):
    with pytest.raises(UserError, match="whole number from 0 to 4294967295"):
        await service.random(alice, seed=seed)


async def test_reroll_variation_and_exact_remake(service, catalog, alice):
    track = track_where(catalog, recco_knows=True)
    original = await service.cover(f"spotify:track:{track.id}", alice, seed=99)
    bob = Requester("discord", "bob")

    reroll = await service.reroll(original.generation_id, bob)
    assert reroll.seed != 99 and reroll.title == original.title
    assert reroll.features.values == original.features.values
    assert reroll.image_png != original.image_png
    assert reroll.source_url == original.source_url == f"https://open.spotify.com/track/{track.id}"

    variation = await service.variation(original.generation_id, bob)
    assert variation.seed == 99 and variation.subtitle.endswith("· variation 1")
    assert variation.image_png != original.image_png
    deeper = await service.variation(variation.generation_id, bob)
    assert deeper.subtitle.endswith("· variation 2")

    for result in (original, reroll, variation, deeper):
        remade = await service.remake(result.generation_id, bob)
        assert remade.image_png == result.image_png
        assert remade.generation_id == result.generation_id

    rec = await service.db.get_generation(deeper.generation_id)
    assert rec.parent_id == variation.generation_id and rec.user_id == "bob"
    assert len(rec.latent_steps) == 2 and rec.model_kind == "acgan"
    random_cover = await service.random(alice, seed=3)
    assert (await service.reroll(random_cover.generation_id, bob)).subtitle.startswith("seed ")

    with pytest.raises(UserError, match="no cover #4242"):
        await service.reroll(4242, bob)


async def test_history_survives_a_restart(tmp_path, tiny_models, alice):
    config = make_config(tmp_path, tiny_models)
    first = CoverService.from_config(config)
    await first.start()
    made = await first.random(alice, seed=11)
    await first.close()
    second = CoverService.from_config(config)
    await second.start()
    try:
        assert (await second.remake(made.generation_id, alice)).image_png == made.image_png
    finally:
        await second.close()


async def test_spotify_outage_is_explained_and_random_keeps_working(service, catalog, alice, fake_spotify):
    fake_spotify.inject(r"/v1/", 503, times=None)
    track = track_where(catalog, recco_knows=True)
    with pytest.raises(ServiceUnavailable, match="Spotify isn't answering right now") as info:
        await service.cover(f"spotify:track:{track.id}", alice)
    assert "/random still works" in str(info.value)
    assert (await service.random(alice, seed=1)).image_png


async def test_spotify_rate_limit_is_explained(service, catalog, alice, fake_spotify):
    fake_spotify.inject(r"/v1/", 429, times=None, retry_after=3600)
    track = track_where(catalog, recco_knows=True)
    with pytest.raises(ServiceUnavailable, match="slow down; try again in 60 minutes"):
        await service.cover(f"spotify:track:{track.id}", alice)


async def test_reccobeats_outage_still_makes_a_cover(service, catalog, alice, fake_recco):
    fake_recco.inject(r"/v1/", 503, times=None)
    track = track_where(catalog, recco_knows=True)
    result = await service.cover(f"spotify:track:{track.id}", alice)
    assert "reccobeats didn't answer" in result.features.missing_note
    fake_recco.clear_faults()
    again = await service.cover(f"spotify:track:{track.id}", alice)  # not cached: asks again
    assert again.features.values["energy"] == pytest.approx(track.features["energy"])


@pytest.mark.parametrize(
    ("call", "link", "says"),
    [
        ("cover", "https://open.spotify.com/playlist/37i9dQZF1DXcBWIGoYBM5M", "That's a playlist link"),
        ("cover", "spotify:track:0000000000000000000000", "Spotify has no track"),
        ("album", "spotify:album:0000000000000000000000", "Spotify has no album"),
        ("cover", "x" * 50_000, "50,000 characters"),
        ("album", "not a link", "couldn't find a Spotify link"),
    ],
)
async def test_bad_input_gets_user_errors(service, alice, call, link, says):
    with pytest.raises(UserError, match=says):
        await getattr(service, call)(link, alice)


async def test_offline_demo_tracks_without_credentials(tmp_path, tiny_models, alice):
    service = CoverService.from_config(make_config(tmp_path, tiny_models))
    await service.start()
    try:
        assert service.lookups.catalog is None
        result = await service.cover("spotify:track:0DemoTrack000000000003", alice, seed=1)
        assert result.title == "4 AM Radio" and "made-up" in result.subtitle
        assert result.source_url == ""  # made-up ids: no link to a Spotify page that is not there
        assert result.features.sources["energy"] == "local"
        assert "popularity is unknown" in result.features.missing_note
        album = await service.album("https://open.spotify.com/album/0DemoAlbum000000000002", alice)
        assert album.features.tracks_total == 4
        with pytest.raises(ServiceUnavailable, match="no Spotify credentials") as info:
            await service.cover("spotify:track:6rqhFgbbKwnb9MLmUQDhG6", alice)
        assert "spotify:track:0DemoTrack000000000001" in str(info.value)
    finally:
        await service.close()


async def test_missing_and_broken_models(tmp_path, tiny_models, alice):
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not onnx at all")
    models = {"unconditional": tiny_models["unconditional"], "acgan": tmp_path / "gone.onnx"}
    service = CoverService.from_config(make_config(tmp_path, models))
    await service.start()
    try:
        with pytest.raises(ServiceUnavailable) as info:
            await service.cover("spotify:track:0DemoTrack000000000001", alice)
        message = str(info.value)
        assert "/cover and /album can't run here" in message and "gone.onnx" in message
        assert "albumgan-export" in message
        assert (await service.random(alice, seed=2)).image_png
        assert [m.kind for m in await service.about()] == ["unconditional"]
    finally:
        await service.close()

    models = {"unconditional": broken, "acgan": tiny_models["unconditional"]}
    service = CoverService.from_config(make_config(tmp_path, models))
    await service.start()
    try:
        assert "broken.onnx: not a loadable ONNX model" in service.models.problems["unconditional"]
        assert "is a unconditional model, but [models] acgan" in service.models.problems["acgan"]
        with pytest.raises(ServiceUnavailable, match="/random can't run here"):
            await service.random(alice)
    finally:
        await service.close()


async def test_queue_positions_and_limits_through_the_service(tmp_path, tiny_models):
    service = CoverService.from_config(make_config(tmp_path, tiny_models, workers=1, per_user_queued=2, queue_size=3))
    await service.start()
    try:
        users = [Requester("discord", u) for u in ("a", "a", "b")]
        positions = {}
        gate = asyncio.Event()
        runner = service.models.runners["unconditional"]
        original = runner.generate_rows

        async def held_generate(*args):
            await gate.wait()
            return await original(*args)

        runner.generate_rows = held_generate

        def reporter(i):
            async def report(position):
                positions[i] = position

            return report

        tasks = []
        for i, who in enumerate(users):
            tasks.append(asyncio.create_task(service.random(who, seed=i, on_queued=reporter(i))))
            await asyncio.sleep(0.05)
        with pytest.raises(UserError, match="already have 2 covers"):
            await service.random(users[0])
        with pytest.raises(ServiceUnavailable, match="busy"):
            await service.random(Requester("discord", "c"))
        gate.set()
        results = await asyncio.gather(*tasks)
        assert positions == {1: 1, 2: 2}
        assert [r.seed for r in results] == [0, 1, 2]
    finally:
        await service.close()
