"""bot.toml -> typed, validated settings; secrets come from the environment only.

Every key has a default, so an empty file is a working local setup. Unknown keys and
wrong types are rejected with one line naming the key, because a misspelt key that is
silently ignored is the worst kind of config bug (`training.typed_config` reads both this
file and the training recipes). Relative paths are relative to the
config file's folder, so the bot behaves the same from any working directory.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from albumgan.typed_config import ConfigError, build

DEFAULT_CONFIG_NAME = "bot.toml"


@dataclass(frozen=True)
class ModelsConfig:
    unconditional: str = "models/unconditional-64.onnx"
    acgan: str = "models/acgan-64.onnx"
    display_size: int = 512  # covers are upscaled to this for chat
    variation_strength: float = 0.3  # how far "Variations" moves the latent (0..1)
    reload_check_s: float = 10.0  # poll the model files; a replaced file is hot-swapped (0 = off)


@dataclass(frozen=True)
class FeaturesConfig:
    # Provider order: the first that has a feature wins. "local" = the local_path table.
    providers: list[str] = field(
        default_factory=lambda: [
            "local",
            "reccobeats",
            "reccobeats-popularity",
            "spotify-audio-features",
            "spotify-popularity",
        ]
    )
    cache_ttl_s: float = 7 * 24 * 3600.0
    local_path: str = "models/demo-tracks.csv"
    reccobeats_base: str = "https://api.reccobeats.com"
    timeout_s: float = 10.0


@dataclass(frozen=True)
class SpotifyConfig:
    api_base: str = "https://api.spotify.com/v1/"
    token_url: str = "https://accounts.spotify.com/api/token"
    max_retry_after_s: float = 5.0  # people are waiting: a longer Retry-After is an error
    timeout_s: float = 10.0
    short_link_base: str = ""  # "" follows real short-link hosts; tests point it at a fake
    short_link_timeout_s: float = 5.0


@dataclass(frozen=True)
class LimitsConfig:
    queue_size: int = 64  # requests waiting or running, all users together
    per_user_queued: int = 3  # requests one user may have waiting or running
    cooldown_s: float = 3.0  # minimum time between one user's requests
    workers: int = 8  # requests served at once (the model batches their images)
    max_batch: int = 16
    max_album_tracks: int = 200


@dataclass(frozen=True)
class DatabaseConfig:
    path: str = "var/albumgan.sqlite3"


@dataclass(frozen=True)
class DiscordCommands:
    cover: str = "cover"
    album: str = "album"
    random: str = "random"
    about: str = "about"


@dataclass(frozen=True)
class DiscordConfig:
    guild_ids: list[int] = field(default_factory=list)  # fast command sync for these guilds
    sharded: bool = False
    commands: DiscordCommands = field(default_factory=DiscordCommands)


@dataclass(frozen=True)
class SlackCommands(DiscordCommands):
    """Slash command names, without the slash; the same defaults as Discord's."""


@dataclass(frozen=True)
class SlackConfig:
    enabled: bool = False  # `albumgan serve` without --discord/--slack runs Slack
    mode: str = "socket"  # "socket": Socket Mode, no public URL; "http": Slack POSTs to us
    http_host: str = "0.0.0.0"
    http_port: int = 3000
    http_path: str = "/slack/events"
    join_channels: bool = True  # join a public channel to post a cover there
    max_retry_after_s: float = 10.0  # wait out a 429 this long at most, else report it
    timeout_s: float = 30.0
    api_base: str = "https://slack.com/api/"  # tests point it at a fake
    commands: SlackCommands = field(default_factory=SlackCommands)


@dataclass(frozen=True)
class BotConfig:
    models: ModelsConfig = field(default_factory=ModelsConfig)
    features: FeaturesConfig = field(default_factory=FeaturesConfig)
    spotify: SpotifyConfig = field(default_factory=SpotifyConfig)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    discord: DiscordConfig = field(default_factory=DiscordConfig)
    slack: SlackConfig = field(default_factory=SlackConfig)
    # The folder that relative paths are relative to: where the file was, never a key in it.
    base_dir: str = field(default=".", metadata={"toml": False})

    def path(self, value: str) -> Path:
        """A configured path, resolved against the config file's folder."""
        p = Path(value).expanduser()
        return p if p.is_absolute() else Path(self.base_dir) / p


@dataclass(frozen=True)
class Secrets:
    """Tokens from the environment. repr=False keeps them out of logs and tracebacks."""

    discord_token: str = field(default="", repr=False)
    spotify_client_id: str = field(default="", repr=False)
    spotify_client_secret: str = field(default="", repr=False)
    slack_bot_token: str = field(default="", repr=False)
    slack_app_token: str = field(default="", repr=False)
    slack_signing_secret: str = field(default="", repr=False)

    @property
    def has_spotify(self) -> bool:
        return bool(self.spotify_client_id and self.spotify_client_secret)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Secrets:
        env = os.environ if environ is None else environ
        return cls(
            discord_token=env.get("DISCORD_TOKEN", ""),
            spotify_client_id=env.get("SPOTIPY_CLIENT_ID") or env.get("SPOTIFY_CLIENT_ID", ""),
            spotify_client_secret=(env.get("SPOTIPY_CLIENT_SECRET") or env.get("SPOTIFY_CLIENT_SECRET", "")),
            slack_bot_token=env.get("SLACK_BOT_TOKEN", ""),
            slack_app_token=env.get("SLACK_APP_TOKEN", ""),
            slack_signing_secret=env.get("SLACK_SIGNING_SECRET", ""),
        )


def load_config(path: str | os.PathLike | None = None) -> BotConfig:
    """Read `path` (default ./bot.toml; a missing default file means all defaults)."""
    explicit = path is not None
    file = Path(path) if path is not None else Path(DEFAULT_CONFIG_NAME)
    if not file.exists():
        if explicit:
            raise ConfigError(f"{file}: config file not found")
        return BotConfig(base_dir=str(Path.cwd()))
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file}: not valid TOML: {exc}") from exc
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read: {exc.strerror}") from exc
    config = config_from_dict(data, where=str(file))
    return dataclasses.replace(config, base_dir=str(file.resolve().parent))


def config_from_dict(data: Mapping, *, where: str = "config") -> BotConfig:
    config = build(BotConfig, data, where=where)
    _check_values(config, where)
    return config


def _check_values(config: BotConfig, where: str) -> None:
    checks = [
        (config.limits.queue_size >= 1, "limits.queue_size must be at least 1"),
        (config.limits.per_user_queued >= 1, "limits.per_user_queued must be at least 1"),
        (config.limits.cooldown_s >= 0, "limits.cooldown_s must not be negative"),
        (config.limits.workers >= 1, "limits.workers must be at least 1"),
        (config.limits.max_batch >= 1, "limits.max_batch must be at least 1"),
        (config.limits.max_album_tracks >= 1, "limits.max_album_tracks must be at least 1"),
        (config.features.cache_ttl_s >= 0, "features.cache_ttl_s must not be negative"),
        (config.models.reload_check_s >= 0, "models.reload_check_s must not be negative"),
        (0 < config.models.variation_strength < 1, "models.variation_strength must be between 0 and 1"),
        (64 <= config.models.display_size <= 2048, "models.display_size must be from 64 to 2048"),
        (config.slack.mode in ("socket", "http"), 'slack.mode must be "socket" or "http"'),
        (0 <= config.slack.http_port <= 65535, "slack.http_port must be from 0 to 65535"),
        (config.slack.http_path.startswith("/"), 'slack.http_path must start with "/"'),
        (config.slack.max_retry_after_s >= 0, "slack.max_retry_after_s must not be negative"),
        (config.slack.timeout_s > 0, "slack.timeout_s must be positive"),
        (
            all(re.fullmatch(r"[a-z0-9_-]{1,31}", name) for name in dataclasses.astuple(config.slack.commands)),
            "slack.commands: names are 1-31 of a-z 0-9 _ - (no slash)",
        ),
    ]
    for ok, message in checks:
        if not ok:
            raise ConfigError(f"{where}: {message}")
