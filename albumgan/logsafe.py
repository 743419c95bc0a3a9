"""Secrets never reach a log line. Every command line program sets up logging through
`configure_logging`, which puts `RedactSecrets` on the root handlers: records from any logger
(ours, spotipy's, urllib3's, discord.py's, slack_sdk's) at any level pass through it, after
their arguments are formatted and with their tracebacks, before anything is written.

Redacted: the values of the secret environment variables (and the HTTP Basic form of each
Spotify id:secret pair), Authorization headers, Bearer credentials, access and refresh tokens
in JSON bodies, forms and URLs, Slack tokens, Discord bot tokens (and JWT-shaped tokens), and
the interaction and webhook tokens in Discord API paths. Torch-free.

`use_json_lines` switches the root handlers to `JsonLines`, one JSON object per line, whose
every string (the extra fields a record carries too, which RedactSecrets does not see) is
redacted again as it is written.
"""

from __future__ import annotations

import base64
import datetime
import functools
import itertools
import json
import logging
import os
import re
from typing import Any

from albumgan.credentials import SECRET_ENV_VARS, SPOTIFY_ID_VARS, SPOTIFY_SECRET_VARS

REDACTED = "[redacted]"
_ENV_VARS = (*SPOTIFY_ID_VARS, *SECRET_ENV_VARS)
# Shorter values are not real credentials, and replacing every "ab" would garble the logs.
_MIN_SECRET_LENGTH = 4

# A credential runs to the next quote, separator or space; one already redacted is left be.
_TOKEN = r"(?!" + re.escape(REDACTED) + r")[^\s'\",;&}\]]+"
_PATTERNS = (
    # "Authorization: Bearer x", "'Authorization': 'Basic x'", "authorization=Bot x": the scheme stays
    (re.compile(r"(authorization['\"]?\s*[:=]\s*['\"]?(?:(?:basic|bearer|bot|token)\s+)?+)" + _TOKEN, re.I), r"\1"),
    (re.compile(r"(\bbearer\s+)(?![\w-]+=\")" + _TOKEN, re.I), r"\1"),  # not: Bearer realm="spotify"
    # JSON bodies, forms and query strings: "access_token": "x", refresh_token=x, "token": "x"
    (
        re.compile(
            r"((?<![\w-])['\"]?(?:access_token|refresh_token|id_token|client_secret|signing_secret|token|password)"
            r"['\"]?\s*[:=]\s*['\"]?)" + _TOKEN,
            re.I,
        ),
        r"\1",
    ),
    (re.compile(r"\bx(?:ox[abposre]|app)-[A-Za-z0-9-]+"), ""),  # Slack bot, user and app tokens
    (re.compile(r"[\w-]{20,}\.[\w-]{6,}\.[\w-]{20,}"), ""),  # Discord bot tokens, JWTs
    (re.compile(r"(/(?:webhooks|interactions)/\d+/)(?!\[)[^/\s?'\"]+"), r"\1"),  # Discord interaction tokens
)


def redact(text: str) -> str:
    """`text` with every secret this module knows of replaced by REDACTED."""
    for secret in _env_secrets():
        text = text.replace(secret, REDACTED)
    for pattern, keep in _PATTERNS:
        text = pattern.sub(keep + REDACTED if keep else REDACTED, text)
    return text


class RedactSecrets(logging.Filter):
    """Redacts a record in place: its formatted message, traceback and stack. On a handler, so
    that it sees records from every logger (a logger's filters miss its children's records)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact(_message(record)), None
        if record.exc_info and not record.exc_text:
            record.exc_text = _TRACEBACKS.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


_TRACEBACKS = logging.Formatter()


def configure_logging(**basic_config: Any) -> None:
    """`logging.basicConfig(**basic_config)`, with RedactSecrets on every root handler."""
    logging.basicConfig(**basic_config)
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactSecrets) for f in handler.filters):
            handler.addFilter(RedactSecrets())


class JsonLines(logging.Formatter):
    """One JSON object per line: `ts` (UTC, ISO 8601), `level`, `logger`, `message`, the
    record's extra fields (a request's, say: bot/observe.py), and `exc` with the traceback."""

    def format(self, record: logging.LogRecord) -> str:
        created = datetime.datetime.fromtimestamp(record.created, datetime.UTC)
        entry: dict[str, Any] = {
            "ts": created.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": _message(record),
        }
        entry.update((key, value) for key, value in vars(record).items() if key not in _RECORD_ATTRIBUTES)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(_redacted(entry), ensure_ascii=False)


# What every LogRecord has; anything else on a record came as `extra` and is a field of its own.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def use_json_lines() -> None:
    """Every root handler (set up by configure_logging, so redacting) writes JsonLines."""
    for handler in logging.getLogger().handlers:
        handler.setFormatter(JsonLines())


def _redacted(value: Any) -> Any:
    """A JSON-ready copy of `value` with every string redacted; anything JSON has no type for
    becomes its (redacted) text."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, dict):
        return {str(key): _redacted(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_redacted(item) for item in value]
    return redact(str(value))


def _message(record: logging.LogRecord) -> str:
    try:
        return record.getMessage()
    except Exception:  # arguments that do not fit the format: logging would print both raw
        return f"{record.msg} (with arguments that did not fit it: {record.args!r})"


def _env_secrets() -> tuple[str, ...]:
    return _secrets_in(tuple(os.environ.get(name, "") for name in _ENV_VARS))


@functools.lru_cache(maxsize=8)
def _secrets_in(values: tuple[str, ...]) -> tuple[str, ...]:
    """The literal secrets in the values of _ENV_VARS, longest first so that no secret is left
    half-replaced by a shorter one inside it. Cached: the environment rarely changes."""
    env = dict(zip(_ENV_VARS, values, strict=True))
    found = {env[name] for name in SECRET_ENV_VARS}
    for client_id, secret in itertools.product(
        (env[n] for n in SPOTIFY_ID_VARS), (env[n] for n in SPOTIFY_SECRET_VARS)
    ):
        if client_id and secret:  # the HTTP Basic credentials spotipy sends to the token endpoint
            found.add(base64.b64encode(f"{client_id}:{secret}".encode("utf-8", "replace")).decode())
    return tuple(sorted((s for s in found if len(s) >= _MIN_SECRET_LENGTH), key=len, reverse=True))
