"""Shared by the bot, Discord and Slack tests (registered in tests/conftest.py, so the tiny
models are exported once per run): tiny real models (training's Generator -> checkpoint ->
export's ONNX path), fake Spotify and ReccoBeats servers, and a CoverService wired to them
through the real clients."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from bot.config import (
    BotConfig,
    DatabaseConfig,
    FeaturesConfig,
    LimitsConfig,
    ModelsConfig,
    Secrets,
    SpotifyConfig,
)
from bot.service import CoverService
from bot.types import Requester
from tests.fakes.reccobeats import FakeReccoBeats
from tests.fakes.spotify import FakeSpotify, make_catalog

Z_DIM = 16
RESOLUTION = 16
WIDTH = 8
REPO = Path(__file__).resolve().parents[1]


def tiny_checkpoint(path: Path, kind: str, seed: int) -> Path:
    import torch

    from training.architectures import network_state
    from training.checkpoint import FORMAT, VERSION, save_checkpoint
    from training.labels import DEFAULT_SCHEMA
    from training.networks import Generator

    torch.manual_seed(seed)
    c_dim = len(DEFAULT_SCHEMA) if kind == "acgan" else 0
    generator = Generator(z_dim=Z_DIM, resolution=RESOLUTION, width=WIDTH, c_dim=c_dim)
    state = network_state(generator)
    return save_checkpoint(path, {
        "format": FORMAT, "version": VERSION, "kind": kind, "step": 10,
        "generator": state, "generator_ema": state,
        "meta": {"latent_prior": "normal",
                 "label_schema": DEFAULT_SCHEMA.to_dict() if kind == "acgan" else None,
                 "dataset": {"content_hash": f"bot-test-{kind}", "count": 1,
                             "provenance": {"source": "random init, bot tests"}},
                 "config": {}, "created": "2026-11-25T00:00:00+00:00"},
    })


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> dict[str, Path]:
    """{"unconditional": path, "acgan": path}: exported through export.onnx_export."""
    from export.onnx_export import export_checkpoint

    root = tmp_path_factory.mktemp("bot-models")
    models = {}
    for seed, kind in enumerate(("unconditional", "acgan")):
        ckpt = tiny_checkpoint(root / f"{kind}.pt", kind, seed)
        models[kind] = export_checkpoint(ckpt, root / f"{kind}-16.onnx")[0].path
    return models


@pytest.fixture(scope="session")
def catalog():
    return make_catalog(n_albums=3, tracks_per_album=7, seed=5)


@pytest.fixture
def fake_spotify(catalog):
    with FakeSpotify(catalog) as fake:
        yield fake


@pytest.fixture
def fake_recco(catalog):
    with FakeReccoBeats(catalog) as fake:
        yield fake


def make_config(tmp_path, models, *, spotify=None, recco=None, **limits) -> BotConfig:
    limit_options = dict(cooldown_s=0.0, workers=4)
    limit_options.update(limits)
    return BotConfig(
        models=ModelsConfig(unconditional=str(models["unconditional"]), acgan=str(models["acgan"])),
        features=FeaturesConfig(
            providers=["local", "reccobeats", "reccobeats-popularity", "spotify-audio-features",
                       "spotify-popularity"],
            local_path=str(REPO / "models" / "demo-tracks.csv"),
            reccobeats_base=recco.base_url if recco else "http://127.0.0.1:9",
            timeout_s=2.0),
        spotify=dataclasses.replace(
            SpotifyConfig(), api_base=spotify.api_base if spotify else "http://127.0.0.1:9/v1/",
            token_url=spotify.token_url if spotify else "http://127.0.0.1:9/api/token",
            timeout_s=2.0),
        limits=dataclasses.replace(LimitsConfig(), **limit_options),
        database=DatabaseConfig(path=str(tmp_path / "bot.sqlite3")),
        base_dir=str(tmp_path),
    )


SPOTIFY_SECRETS = Secrets(spotify_client_id="test-id", spotify_client_secret="test-secret")


@pytest.fixture
async def service(tmp_path, tiny_models, fake_spotify, fake_recco):
    config = make_config(tmp_path, tiny_models, spotify=fake_spotify, recco=fake_recco)
    svc = CoverService.from_config(config, secrets=SPOTIFY_SECRETS)
    await svc.start()
    yield svc
    await svc.close()


@pytest.fixture
def alice():
    return Requester(platform="cli", user_id="alice", channel_id="c1", guild_id="g1")
