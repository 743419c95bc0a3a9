"""Catalogue and audio-feature sources shared by the dataset builder and the bot.

Torch-free on purpose: the bot process imports this package."""

from albumgan.sources.errors import (
    Forbidden,
    NotFound,
    RateLimited,
    ReccoBeatsUnavailable,
    SourceError,
    SpotifyCredentialsRefused,
    SpotifyUnavailable,
    Unavailable,
)
from albumgan.sources.features import (
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
from albumgan.sources.reccobeats import ReccoBeatsClient
from albumgan.sources.retry import RetryPolicy
from albumgan.sources.spotify import SpotifyCatalog, spotify_client

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
    "SpotifyCredentialsRefused",
    "SpotifyPopularity",
    "SpotifyUnavailable",
    "Unavailable",
    "build_providers",
    "spotify_client",
]
