"""Credentials come only from environment variables (see the README): their names, and the one
check of their shape, so that a token pasted with a line break or a typographic character is one
clear message (bad config, exit 2) instead of a failure deep inside an HTTP library. The check
names the variable and never echoes its value. Torch-free.
"""

from __future__ import annotations

from albumgan.typed_config import ConfigError

SPOTIFY_ID_VARS = ("SPOTIPY_CLIENT_ID", "SPOTIFY_CLIENT_ID")  # not secret; id:secret in base64 is
SPOTIFY_SECRET_VARS = ("SPOTIPY_CLIENT_SECRET", "SPOTIFY_CLIENT_SECRET")
SECRET_ENV_VARS = (
    *SPOTIFY_SECRET_VARS,
    "DISCORD_TOKEN",
    "SLACK_BOT_TOKEN",
    "SLACK_APP_TOKEN",
    "SLACK_SIGNING_SECRET",
)


def check_credential(name: str, value: str) -> str:
    """`value` when it can be a credential (empty, or printable ASCII without spaces, as every
    Spotify, Discord and Slack credential is); else ConfigError naming `name`."""
    for char in value:
        if not "!" <= char <= "~":
            raise ConfigError(
                f"{name} is malformed: it contains {_describe(char)}; credentials are printable ASCII "
                "without spaces, so copy it again"
            )
    return value


def _describe(char: str) -> str:
    if char in "\r\n":
        return "a line break"
    if char.isspace():
        return "a space"
    return "a non-ASCII character" if ord(char) > 127 else "a control character"
