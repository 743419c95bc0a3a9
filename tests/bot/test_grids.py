"""Four candidates per answer, deterministic first covers, and the parameters inside every
PNG, through the real service (tiny ONNX models, SQLite, the fake Spotify)."""

from __future__ import annotations

import asyncio
import json

import numpy as np
import pytest
from PIL import Image

from albumgan.bot.engine import ModelRunner
from albumgan.bot.grids import GRID, SERVER
from albumgan.bot.imaging import png_text, read_png_text, to_png
from albumgan.bot.service import CoverService
from albumgan.bot.types import Requester, UserError
from albumgan.latent import SEED_LIMIT, latents_from_seeds, stable_seed
from tests.grid_checks import assert_grid_of_singles, grid_seeds, tile_sized, tiles
from tests.service_fixtures import SPOTIFY_SECRETS, make_config
from tests.stub_service import decoded, pixels


def track_link(catalog, index: int = 0) -> str:
    return f"https://open.spotify.com/track/{list(catalog.tracks)[index]}"


async def test_a_grid_is_the_four_single_covers_of_its_seeds_in_one_batch(service, catalog, alice):
    runner = service.models.runners["acgan"]
    runs = runner.runs
    grid = await service.cover(track_link(catalog), alice, seed=SEED_LIMIT - 2, layout=GRID)
    assert runner.runs == runs + 1  # one generator batch for the four
    seeds = [c.seed for c in grid.candidates]
    assert seeds == [SEED_LIMIT - 2, SEED_LIMIT - 1, 0, 1] == grid_seeds(grid.image_png)  # wraps in the seed range
    assert grid.card_png and grid.features is not None
    async with tile_sized(service.config) as small:
        singles = [await small.cover(track_link(catalog), alice, seed=seed) for seed in seeds]
    assert_grid_of_singles(grid.image_png, [single.image_png for single in singles])

    # Every candidate is a history row of its own: Pick re-makes it alone, with the card.
    ids = [c.generation_id for c in grid.candidates]
    assert len(set(ids)) == 4 and grid.generation_id == ids[0]
    picked = await service.remake(ids[2], alice)
    single = await service.cover(track_link(catalog), alice, seed=seeds[2])
    assert pixels(picked.image_png) == pixels(single.image_png) and picked.card_png


async def test_vary_and_reroll_answer_with_grids(service, catalog, alice):
    grid = await service.random(alice, seed=5, layout=GRID)
    assert grid.subtitle == "seeds 5, 6, 7, 8"
    second = grid.candidates[1]
    varied = await service.variation(second.generation_id, alice, layout=GRID)
    assert [c.seed for c in varied.candidates] == [6] * 4  # around candidate 2: its seed, four new steps
    assert len(set(tiles(varied.image_png))) == 4
    rows = [await service.db.get_generation(c.generation_id) for c in varied.candidates]
    assert {row.parent_id for row in rows} == {second.generation_id}
    assert all(len(row.latent_steps) == 1 for row in rows)
    rerolled = await service.reroll(grid.generation_id, alice, layout=GRID)
    assert len(rerolled.candidates) == 4 and set(tiles(rerolled.image_png)).isdisjoint(tiles(grid.image_png))


async def test_the_server_setting_chooses_grids_or_single_covers(service, alice):
    assert len((await service.random(alice, seed=1, layout=SERVER)).candidates) == 4  # grids by default
    await service.set_setting(alice, "layout", "single")
    single = await service.random(alice, seed=1, layout=SERVER)
    assert single.candidates == () and decoded(single.image_png).size == (512, 512)
    elsewhere = Requester("cli", "alice", guild_id="another server")
    assert len((await service.random(elsewhere, seed=1, layout=SERVER)).candidates) == 4


async def test_a_songs_first_grid_is_the_same_after_a_restart(tmp_path, tiny_models, fake_spotify, fake_recco, catalog):
    config = make_config(tmp_path, tiny_models, spotify=fake_spotify, recco=fake_recco)
    grids = []
    for user in ("alice", "bob"):  # two processes, two people: one shareable first grid
        async with CoverService.from_config(config, secrets=SPOTIFY_SECRETS) as service:
            grids.append(await service.cover(track_link(catalog, 4), Requester("discord", user), layout=GRID))
    assert grids[0].seed == grids[1].seed
    assert tiles(grids[0].image_png) == tiles(grids[1].image_png)
    assert grids[0].seed == stable_seed("track", list(catalog.tracks)[4], grids[0].model_name, grids[0].model_version)


async def test_the_first_seed_changes_with_the_model_version_and_reroll_leaves_it(
    tmp_path, tiny_models, fake_spotify, fake_recco, catalog, alice
):
    seeds = {}
    for kind in ("acgan", "acgan-v2"):
        config = make_config(
            tmp_path, {**tiny_models, "acgan": tiny_models[kind]}, spotify=fake_spotify, recco=fake_recco
        )
        async with CoverService.from_config(config, secrets=SPOTIFY_SECRETS) as service:
            first = await service.cover(track_link(catalog, 1), alice)
            album = await service.album(f"https://open.spotify.com/album/{catalog.album_list[0].id}", alice)
            assert album.seed != first.seed  # keyed by kind and id too
            seeds[first.model_version] = first.seed
            assert (await service.reroll(first.generation_id, alice)).seed != first.seed
    assert len(seeds) == 2 and len(set(seeds.values())) == 2


async def test_every_png_carries_its_parameters(service, catalog, alice):
    single = await service.cover(track_link(catalog, 2), alice, seed=77)
    text = read_png_text(single.image_png)
    assert text["cover_id"] == str(single.generation_id) and text["seed"] == "77"
    assert (text["model"], text["model_version"], text["kind"]) == (single.model_name, single.model_version, "cover")
    assert text["title"] == single.title
    assert json.loads(text["features"]) == single.features.values
    assert json.loads(text["feature_sources"]) == single.features.sources
    assert json.loads(text["latent_steps"]) == []
    assert read_png_text(single.card_png) == text  # the card too
    grid = await service.random(alice, seed=9, layout=GRID)
    text = read_png_text(grid.image_png)
    assert json.loads(text["cover_id"]) == [str(c.generation_id) for c in grid.candidates]
    assert "features" not in text


def test_png_text_round_trips_any_script():
    parameters = {"title": "Ölümsüz · 夜に駆ける", "seed": "7", "features": {"energy": 0.5, "tempo": None}}
    picture = Image.new("RGB", (4, 4), (200, 10, 10))
    data = to_png(picture, parameters)
    assert read_png_text(data) == {
        "title": parameters["title"],
        "seed": "7",
        "features": '{"energy":0.5,"tempo":null}',
    }
    assert to_png(picture, parameters) == data  # deterministic bytes
    assert len(png_text({}).chunks) == 0


async def test_a_bad_seed_is_refused_before_any_lookup(service, fake_spotify, alice):
    with pytest.raises(UserError, match="whole number"):
        await service.cover("https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC", alice, seed=SEED_LIMIT)
    assert fake_spotify.count(r"GET /v1/") == 0


async def test_the_generator_batch_limit_counts_images(tiny_models):
    runner = ModelRunner(tiny_models["unconditional"], max_batch=8, window_ms=200)
    try:
        z = latents_from_seeds(list(range(12)), runner.info.z_dim)
        grids = await asyncio.gather(*(runner.generate_rows(z[i : i + 4]) for i in (0, 4, 8)))
        assert runner.runs == 2 and [len(g) for g in grids] == [4, 4, 4]  # eight images, then four
        singles = [await runner.generate(row) for row in z]
        assert np.array_equal(np.concatenate(grids), np.stack(singles))
    finally:
        await runner.close()
