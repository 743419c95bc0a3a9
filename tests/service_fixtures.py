"""Shared by the bot, Discord and Slack tests (registered in tests/conftest.py): the tiny
committed models, fake Spotify and ReccoBeats servers, and a CoverService wired to them
through the real clients. Nothing here needs torch."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from albumgan.bot.config import (
    BotConfig,
    DatabaseConfig,
    FeaturesConfig,
    LimitsConfig,
    ModelsConfig,
    Secrets,
    SpotifyConfig,
)
from albumgan.bot.service import CoverService
from albumgan.bot.types import Requester
from fakes.reccobeats import FakeReccoBeats
from fakes.spotify import FakeSpotify, make_catalog

REPO = Path(__file__).resolve().parents[1]
TEST_MODELS = REPO / "tests" / "models"


@pytest.fixture(scope="session")
def tiny_models() -> dict[str, Path]:
    """{"unconditional", "acgan", "acgan-v2", "unconditional-v2"} -> the committed tiny models
    (tests/models/make_test_models.py), real model files by the contract, made without
    torch; tests that change a model file copy it first."""
    return {
        kind: TEST_MODELS / f"tiny-{kind}.onnx" for kind in ("unconditional", "acgan", "acgan-v2", "unconditional-v2")
    }


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
            providers=["local", "reccobeats", "reccobeats-popularity", "spotify-audio-features", "spotify-popularity"],
            local_path=str(REPO / "models" / "demo-tracks.csv"),
            reccobeats_base=recco.base_url if recco else "http://127.0.0.1:9",
            timeout_s=2.0,
        ),
        spotify=dataclasses.replace(
            SpotifyConfig(),
            api_base=spotify.api_base if spotify else "http://127.0.0.1:9/v1/",
            token_url=spotify.token_url if spotify else "http://127.0.0.1:9/api/token",
            timeout_s=2.0,
        ),
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
def real_config(tmp_path, tiny_models, fake_spotify, fake_recco):
    """The config of a real service wired to the fake Spotify and ReccoBeats."""
    return make_config(tmp_path, tiny_models, spotify=fake_spotify, recco=fake_recco)


@pytest.fixture
async def real_service(real_config):
    """A real service opened as serve.serve opens it: frontends only borrow it."""
    async with CoverService.from_config(real_config, secrets=SPOTIFY_SECRETS) as service:
        yield service


@pytest.fixture
def alice():
    return Requester(platform="cli", user_id="alice", channel_id="c1", guild_id="g1")


@pytest.fixture
async def open_service():
    """Open real services as bot/serve.py does (frontends only borrow them): call it with a
    config; each service is closed at teardown unless the test closed it (a "restart")."""
    opened: list[CoverService] = []

    async def open_(config: BotConfig) -> CoverService:
        service = CoverService.from_config(config, secrets=SPOTIFY_SECRETS)
        await service.start()
        opened.append(service)
        return service

    yield open_
    for service in reversed(opened):
        await service.close()
