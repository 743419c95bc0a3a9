"""Values that parse but cannot work (issue #14) are config errors at load, one line naming
the key, exit code 2: TOML's inf and nan, zero or negative timeouts, and command names
Discord or Slack would refuse (or that name two commands), instead of an internal error on a
user's second request, on every lookup, or when `serve --discord` registers its commands."""

from __future__ import annotations

import pytest

from albumgan.bot.cli import EXIT_USER
from albumgan.bot.config import ConfigError, config_from_dict, load_config
from tests.faults.programs import run

BAD = [
    ("[limits]\ncooldown_s = inf", "limits.cooldown_s must be a finite number"),
    ("[limits]\ncooldown_s = nan", "limits.cooldown_s must be a finite number"),
    ("[spotify]\ntimeout_s = -1", "spotify.timeout_s must be more than 0"),
    ("[spotify]\ntimeout_s = 0", "spotify.timeout_s must be more than 0"),
    ("[spotify]\ntimeout_s = inf", "spotify.timeout_s must be a finite number"),
    ("[spotify]\nshort_link_timeout_s = 0", "spotify.short_link_timeout_s must be more than 0"),
    ("[spotify]\nmax_retry_after_s = inf", "spotify.max_retry_after_s must be a finite number"),
    ("[features]\ntimeout_s = 0", "features.timeout_s must be more than 0"),
    ("[features]\ncache_ttl_s = inf", "features.cache_ttl_s must be a finite number"),
    ("[models]\nreload_check_s = inf", "models.reload_check_s must be a finite number"),
    ("[slack]\ntimeout_s = -inf", "slack.timeout_s must be a finite number"),
    ("[slack]\nmax_retry_after_s = nan", "slack.max_retry_after_s must be a finite number"),
    ('[discord.commands]\ncover = "Cover"', "discord.commands.cover: 'Cover' is not a command name"),
    ('[discord.commands]\ncover = "album cover"', "discord.commands.cover: 'album cover' is not a command name"),
    ('[discord.commands]\ncover = "/cover"', "discord.commands.cover: '/cover' is not a command name"),
    ('[discord.commands]\ncover = ""', "discord.commands.cover: '' is not a command name"),
    (f'[discord.commands]\ncover = "{"c" * 33}"', "is not a command name (1-32 lower-case"),
    ('[discord.commands]\ncover = "random"', "discord.commands: 'random' names two commands"),
    ('[slack.commands]\nabout = "album"', "slack.commands: 'album' names two commands"),
    ('[slack.commands]\ncover = "/cover"', "slack.commands.cover: '/cover' is not a command name"),
]


@pytest.mark.parametrize(("toml", "message"), BAD)
def test_load_config_refuses_values_that_cannot_work(tmp_path, toml, message):
    path = tmp_path / "bot.toml"
    path.write_text(toml + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_config(path)
    text = str(refused.value)
    assert text.startswith(f"{path}: ") and message in text and "\n" not in text, text


@pytest.mark.parametrize(
    "commands",
    [
        {"cover": "albumcover", "album": "album-cover", "random": "random_cover"},
        {"cover": "обложка", "random": "रैंडम"},  # Discord takes lower-case letters of any script
    ],
)
def test_discord_command_names_discord_accepts_still_load(commands):
    config = config_from_dict({"discord": {"commands": commands}})
    assert config.discord.commands.cover == commands["cover"]


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[limits]\ncooldown_s = inf", "limits.cooldown_s must be a finite number"),
        ("[spotify]\ntimeout_s = -1", "spotify.timeout_s must be more than 0"),
        ('[discord.commands]\nabout = "cover"', "discord.commands: 'cover' names two commands"),
    ],
)
def test_the_program_says_so_in_one_line_and_exits_2(tmp_path, toml, message):
    config = tmp_path / "bot.toml"
    config.write_text(toml + "\n", encoding="utf-8")
    proc = run("bot.cli", "--config", config, "about", cwd=tmp_path)
    assert proc.returncode == EXIT_USER, proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith(f"albumgan: {config}: {message}"), line
