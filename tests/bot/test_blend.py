"""/blend through the real service: features lerped, latents slerped, one batch, strip + GIF."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

from albumgan.bot import blend
from albumgan.bot.imaging import read_png_text
from albumgan.bot.types import UserError
from tests.stub_service import decoded


def track_link(catalog, index: int = 0) -> str:
    return f"https://open.spotify.com/track/{list(catalog.tracks)[index]}"


def strip_tiles(strip_png: bytes) -> list[bytes]:
    strip = decoded(strip_png).convert("RGB")
    step = blend.STRIP_TILE + blend.STRIP_GUTTER
    return [strip.crop((i * step, 0, i * step + blend.STRIP_TILE, blend.STRIP_TILE)).tobytes() for i in range(8)]


def gif_frames(data: bytes) -> list[bytes]:
    with Image.open(io.BytesIO(data)) as gif:
        assert gif.format == "GIF" and gif.info.get("loop") == 0
        frames = []
        for i in range(gif.n_frames):
            gif.seek(i)
            frames.append(gif.convert("RGB").tobytes())
    return frames


async def test_a_song_blended_with_itself_is_one_repeated_cover(service, catalog, alice):
    link = track_link(catalog, 3)
    made = await service.blend(link, link, alice)
    assert len(set(strip_tiles(made.strip_png))) == 1
    assert len(set(gif_frames(made.animation))) == 1  # (Pillow merges the equal frames into one)
    assert decoded(made.strip_png).size == (8 * 160 + 7 * 4, 160)


async def test_a_blend_runs_from_one_songs_first_cover_to_the_others(service, catalog, alice):
    runner = service.models.runners["acgan"]
    runs = runner.runs
    album = f"https://open.spotify.com/album/{catalog.album_list[1].id}"
    made = await service.blend(track_link(catalog, 0), album, alice)
    assert runner.runs == runs + 1  # the eight frames in one generator batch
    assert len(set(strip_tiles(made.strip_png))) == blend.FRAMES
    assert len(gif_frames(made.animation)) == 2 * blend.FRAMES - 2  # there and back
    ends = json.loads(read_png_text(made.strip_png)["ends"])
    assert [end["kind"] for end in ends] == ["cover", "album"]
    assert made.title == f"{ends[0]['title']} → {ends[1]['title']}"

    # The ends are exactly what each song's own first cover is made from.
    jobs = [await service._blend_end(text) for text in (track_link(catalog, 0), album)]
    info = runner.info
    z, labels, mask = blend.frame_inputs(jobs, info)
    for row, job in ((0, jobs[0]), (-1, jobs[1])):
        job_z, job_labels, job_mask = job.model_inputs(info)
        assert np.allclose(z[row], job_z) and np.allclose(labels[row], job_labels) and np.allclose(mask[row], job_mask)
    first = await service.cover(track_link(catalog, 0), alice)
    assert jobs[0].seed == first.seed  # the song's own first cover


async def test_seeds_blend_on_the_unconditional_model_or_borrow_a_songs_features(service, catalog, alice):
    seeds = await service.blend("seed:1", "SEED=2", alice)
    assert seeds.model_name == "unconditional-16" and len(set(strip_tiles(seeds.strip_png))) == blend.FRAMES
    mixed = await service.blend("seed:123", track_link(catalog, 1), alice)
    assert mixed.model_name == "acgan-16" and mixed.title.startswith("seed 123 → ")


async def test_bad_ends_are_explained(service, alice):
    with pytest.raises(UserError, match="couldn't find a Spotify link"):
        await service.blend("seed:1", "hello", alice)
    with pytest.raises(UserError, match="whole number"):
        await service.blend("seed:99999999999", "seed:1", alice)
    with pytest.raises(UserError, match="/blend <link A> <link B>"):
        blend.split_ends("only-one")


def test_slerp_keeps_the_ends_and_the_norm():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(128).astype(np.float32), rng.standard_normal(128).astype(np.float32)
    assert np.allclose(blend.slerp(a, b, 0.0), a, atol=1e-5) and np.allclose(blend.slerp(a, b, 1.0), b, atol=1e-5)
    middle = blend.slerp(a, b, 0.5)
    assert np.linalg.norm(middle) > np.linalg.norm((a + b) / 2)  # no washed-out middle
    assert np.allclose(blend.slerp(a, a, 0.3), a)
    assert blend.lerp_features({"x": 0.0, "y": None}, {"x": 1.0, "y": 5.0}, 0.25) == {"x": 0.25, "y": 5.0}
