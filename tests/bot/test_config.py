"""bot.toml: defaults, relative paths, one-line errors for every kind of mistake, secrets."""

import pytest

from albumgan.bot.config import BotConfig, ConfigError, Secrets, load_config


def write(tmp_path, text):
    path = tmp_path / "bot.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_repo_bot_toml_loads():
    config = load_config("bot.toml")
    assert config.models.acgan.endswith("acgan-64.onnx")
    assert config.path(config.models.unconditional).name == "unconditional-64.onnx"


def test_values_and_relative_paths(tmp_path):
    path = write(
        tmp_path,
        """
[models]
acgan = "m/a.onnx"
variation_strength = 0.5
[limits]
cooldown_s = 2        # ints are fine where numbers are expected
queue_size = 10
[discord]
guild_ids = [1, 2]
[discord.commands]
cover = "albumcover"
[database]
path = "/abs/x.db"
""",
    )
    config = load_config(path)
    assert config.limits.cooldown_s == 2.0 and isinstance(config.limits.cooldown_s, float)
    assert config.discord.guild_ids == [1, 2]
    assert config.discord.commands.cover == "albumcover"
    assert config.discord.commands.album == "album"
    assert config.path(config.models.acgan) == tmp_path / "m" / "a.onnx"
    assert str(config.path(config.database.path)) == "/abs/x.db"
    assert config.models.unconditional == BotConfig().models.unconditional


def test_missing_default_file_means_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert load_config().limits == BotConfig().limits


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("[limits]\nqueue_sise = 3", "unknown key 'queue_sise' in [limits]"),
        ("[limitz]\nqueue_size = 3", "unknown key 'limitz' in top level"),
        ("[discord.commands]\nkover = 'x'", "unknown key 'kover' in [discord.commands]"),
        ("[limits]\nqueue_size = 'ten'", "limits.queue_size must be a whole number, got str 'ten'"),
        ("[limits]\nqueue_size = 2.5", "limits.queue_size must be a whole number"),
        ("[limits]\ncooldown_s = true", "limits.cooldown_s must be a number, got bool"),
        ("[discord]\nsharded = 1", "discord.sharded must be true or false"),
        ("[discord]\nguild_ids = [1, 'x']", "discord.guild_ids[1] must be a whole number"),
        ("[discord]\nguild_ids = 5", "discord.guild_ids must be a list"),
        ("models = 3", "[models] must be a table"),
        ('base_dir = "/elsewhere"', "unknown key 'base_dir' in top level"),
        ("[limits]\nqueue_size = 0", "limits.queue_size must be at least 1"),
        ("[models]\nvariation_strength = 1.5", "variation_strength must be between 0 and 1"),
        ("[limits\nqueue_size = 3", "not valid TOML"),
    ],
)
def test_bad_config_is_one_line(tmp_path, text, says):
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    message = str(info.value)
    assert says in message
    assert "\n" not in message


def test_explicit_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.toml")


def test_secrets_come_from_env_and_never_show():
    secrets = Secrets.from_env(
        {"DISCORD_TOKEN": "tok-123", "SPOTIPY_CLIENT_ID": "id-9", "SPOTIPY_CLIENT_SECRET": "sec-7"}
    )
    assert secrets.discord_token == "tok-123" and secrets.has_spotify
    assert "tok-123" not in repr(secrets) and "sec-7" not in repr(secrets)
    assert not Secrets.from_env({"SPOTIPY_CLIENT_ID": "id-9"}).has_spotify
