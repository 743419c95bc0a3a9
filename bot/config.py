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

from albumgan.credentials import SPOTIFY_ID_VARS, SPOTIFY_SECRET_VARS, check_credential
from albumgan.typed_config import ConfigError, bound_problem, build

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
    queue_size: int = 64  # requests in progress (looking up, waiting, generating), all users together
    per_user_queued: int = 3  # requests one user may have waiting or running
    cooldown_s: float = 3.0  # minimum time between one user's requests
    workers: int = 8  # requests generating at once (the model batches their images); lookups need no slot
    max_batch: int = 16
    max_album_tracks: int = 200


@dataclass(frozen=True)
class DatabaseConfig:
    path: str = "var/albumgan.sqlite3"
    busy_timeout_s: float = 5.0  # wait this long for another writer; then a cover goes out unsaved


@dataclass(frozen=True)
class StorageConfig:
    """How long what the bot stores is kept (docs/PRIVACY.md). Cached lookups go when they
    are older than [features] cache_ttl_s, after which they would never be used again."""

    history_days: int = 180  # covers older than this are deleted, with their buttons (0 = keep all)
    cache_max_rows: int = 100_000  # per cache table: the newest are kept
    prune_interval_s: float = 3600.0  # pruning runs at start and then this often


@dataclass(frozen=True)
class DiscordCommands:
    cover: str = "cover"
    album: str = "album"
    random: str = "random"
    about: str = "about"
    forget: str = "forget"
    history: str = "history"
    show: str = "show"
    blend: str = "blend"
    help: str = "help"
    settings: str = "settings"


@dataclass(frozen=True)
class DiscordConfig:
    guild_ids: list[int] = field(default_factory=list)  # fast command sync for these guilds
    sharded: bool = False  # AutoShardedClient: every shard Discord recommends, in this process
    # Sharding across processes (docs/OPERATIONS.md, "Scale"): the bot's shards in all processes
    # together, and the ones this process runs ([] = all of them). 0 = let Discord choose.
    shard_count: int = 0
    shard_ids: list[int] = field(default_factory=list)
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
class MetricsConfig:
    # "HOST:PORT" serves /metrics and /healthz there; "" = off. A bare port means 127.0.0.1.
    bind: str = ""


@dataclass(frozen=True)
class LoggingConfig:
    format: str = "text"  # "json": one JSON object per line (`serve --log-format` overrides it)


@dataclass(frozen=True)
class BotConfig:
    models: ModelsConfig = field(default_factory=ModelsConfig)
    features: FeaturesConfig = field(default_factory=FeaturesConfig)
    spotify: SpotifyConfig = field(default_factory=SpotifyConfig)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    discord: DiscordConfig = field(default_factory=DiscordConfig)
    slack: SlackConfig = field(default_factory=SlackConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
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
        """Raises ConfigError naming a malformed variable (a line break, a non-ASCII character)."""
        env = os.environ if environ is None else environ

        def read(*names: str) -> str:  # the first name that is set wins
            name = next((n for n in names if env.get(n)), names[0])
            return check_credential(name, env.get(name, ""))

        return cls(
            discord_token=read("DISCORD_TOKEN"),
            spotify_client_id=read(*SPOTIFY_ID_VARS),
            spotify_client_secret=read(*SPOTIFY_SECRET_VARS),
            slack_bot_token=read("SLACK_BOT_TOKEN"),
            slack_app_token=read("SLACK_APP_TOKEN"),
            slack_signing_secret=read("SLACK_SIGNING_SECRET"),
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
        (config.limits.workers >= 1, "limits.workers must be at least 1"),
        (config.limits.max_batch >= 1, "limits.max_batch must be at least 1"),
        (config.limits.max_album_tracks >= 1, "limits.max_album_tracks must be at least 1"),
        (0 <= config.database.busy_timeout_s <= 600, "database.busy_timeout_s must be from 0 to 600"),
        (0 <= config.storage.history_days <= 36500, "storage.history_days must be from 0 (keep all) to 36500"),
        (config.storage.cache_max_rows >= 100, "storage.cache_max_rows must be at least 100"),
        (0 < config.models.variation_strength < 1, "models.variation_strength must be between 0 and 1"),
        (64 <= config.models.display_size <= 2048, "models.display_size must be from 64 to 2048"),
        (config.slack.mode in ("socket", "http"), 'slack.mode must be "socket" or "http"'),
        (0 <= config.slack.http_port <= 65535, "slack.http_port must be from 0 to 65535"),
        (config.slack.http_path.startswith("/"), 'slack.http_path must start with "/"'),
        (config.logging.format in LOG_FORMATS, f"logging.format must be {' or '.join(map(repr, LOG_FORMATS))}"),
    ]
    problems = [message for ok, message in checks if not ok]
    problems += [
        bound_problem("limits.cooldown_s", config.limits.cooldown_s, 0),
        bound_problem("features.cache_ttl_s", config.features.cache_ttl_s, 0),
        bound_problem("features.timeout_s", config.features.timeout_s, 0, above=True),
        bound_problem("models.reload_check_s", config.models.reload_check_s, 0),
        bound_problem("spotify.max_retry_after_s", config.spotify.max_retry_after_s, 0),
        bound_problem("spotify.timeout_s", config.spotify.timeout_s, 0, above=True),
        bound_problem("spotify.short_link_timeout_s", config.spotify.short_link_timeout_s, 0, above=True),
        bound_problem("storage.prune_interval_s", config.storage.prune_interval_s, 1),
        bound_problem("slack.max_retry_after_s", config.slack.max_retry_after_s, 0),
        bound_problem("slack.timeout_s", config.slack.timeout_s, 0, above=True),
        _command_names_problem("discord.commands", config.discord.commands, DISCORD_COMMAND_NAME),
        _command_names_problem("slack.commands", config.slack.commands, SLACK_COMMAND_NAME),
        _prefixed("discord", shards_problem(config.discord.shard_ids, config.discord.shard_count)),
        _prefixed("metrics.bind", bind_problem(config.metrics.bind)),
    ]
    for problem in problems:
        if problem:
            raise ConfigError(f"{where}: {problem}")


# What each platform accepts as a command name. Discord: 1-32 word characters of any script
# (discord.py's own check, which otherwise fails `serve --discord` as it registers them).
DISCORD_COMMAND_NAME = (
    re.compile(r"[-_\w\u0900-\u097f\u0e00-\u0e7f]{1,32}"),
    "1-32 lower-case letters, digits, - or _",
)
SLACK_COMMAND_NAME = (re.compile(r"[a-z0-9_-]{1,31}"), "1-31 of a-z 0-9 _ -, no slash")


def _command_names_problem(section: str, commands: DiscordCommands, rule: tuple[re.Pattern, str]) -> str:
    """Every name valid on its platform, and no two commands under one name."""
    pattern, words = rule
    names = dataclasses.asdict(commands)
    for command, name in names.items():
        if not pattern.fullmatch(name) or name != name.lower():
            return f"{section}.{command}: {name!r} is not a command name ({words})"
    taken = list(names.values())
    twice = next((name for name in taken if taken.count(name) > 1), None)
    return f"{section}: {twice!r} names two commands" if twice else ""


LOG_FORMATS = ("text", "json")
# HOST:PORT, [IPv6]:PORT or a bare PORT; the host is a name or an address, never a URL.
_BIND = re.compile(r"(?:(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)?:)?(?P<port>[0-9]{1,5})")
LOOPBACK = "127.0.0.1"


def metrics_address(bind: str) -> tuple[str, int] | None:
    """(host, port) that [metrics] bind names; None when metrics are off. A bare port stays on
    the loopback interface: /metrics is for a scraper on this host unless a host is named."""
    if not bind.strip():
        return None
    match = _BIND.fullmatch(bind.strip())
    if match is None or int(match["port"]) > 65535:
        raise ConfigError(f'{bind!r} is not HOST:PORT (e.g. "127.0.0.1:9464", "0.0.0.0:9464", "[::1]:9464")')
    return (match["host"] or LOOPBACK).strip("[]"), int(match["port"])


def bind_problem(bind: str) -> str:
    try:
        metrics_address(bind)
    except ConfigError as exc:
        return str(exc)
    return ""


def shards_problem(shard_ids: list[int], shard_count: int) -> str:
    """What is wrong with running `shard_ids` of `shard_count` shards in one process ("" when
    nothing is). Discord sends a guild's events to shard (guild_id >> 22) % shard_count only."""
    if shard_count < 0:
        return f"the shard count must be 0 (Discord chooses) or more, got {shard_count}"
    if shard_ids and not shard_count:
        return "shard ids need the shard count (the bot's shards across all processes)"
    outside = [i for i in shard_ids if not 0 <= i < shard_count]
    if outside:
        return f"shard id {outside[0]} is outside 0..{shard_count - 1} (shard count {shard_count})"
    twice = next((i for i in shard_ids if shard_ids.count(i) > 1), None)
    return f"shard id {twice} is listed twice" if twice is not None else ""


def _prefixed(section: str, problem: str) -> str:
    return f"{section}: {problem}" if problem else ""
