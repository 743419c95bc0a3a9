"""Catalogue and audio-feature sources shared by the dataset builder and the bot.

Torch-free on purpose: the bot process imports this package."""

from training.sources.errors import (
    Forbidden,
    NotFound,
    RateLimited,
    ReccoBeatsUnavailable,
    SourceError,
    SpotifyUnavailable,
    Unavailable,
)
from training.sources.features import (
    FEATURE_NAMES,
    PROVIDER_NAMES,
    FeatureProvider,
    FeatureSet,
    LocalFeatures,
    ProviderChain,
    ReccoBeats,
    ReccoBeatsPopularity,
    SpotifyAudioFeatures,
    SpotifyPopularity,
    build_providers,
)
from training.sources.reccobeats import ReccoBeatsClient
from training.sources.retry import RetryPolicy
from training.sources.spotify import SpotifyCatalog, spotify_client, spotify_id

__all__ = [
    "FEATURE_NAMES",
    "PROVIDER_NAMES",
    "FeatureProvider",
    "FeatureSet",
    "Forbidden",
    "LocalFeatures",
    "NotFound",
    "ProviderChain",
    "RateLimited",
    "ReccoBeats",
    "ReccoBeatsClient",
    "ReccoBeatsPopularity",
    "ReccoBeatsUnavailable",
    "RetryPolicy",
    "SourceError",
    "SpotifyAudioFeatures",
    "SpotifyCatalog",
    "SpotifyPopularity",
    "SpotifyUnavailable",
    "Unavailable",
    "build_providers",
    "spotify_client",
    "spotify_id",
]
