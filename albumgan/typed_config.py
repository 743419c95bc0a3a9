"""Parsed TOML -> nested dataclasses, checked key by key (torch-free: the bot uses it too).

Training recipes and bot.toml share this one reader so that both speak the same error
language: one line naming the key, what it must be and what it got. A misspelt key is an
error, never silently ignored. Fields whose metadata says `{"toml": False}` are filled in
by the program (e.g. the folder the file came from) and are not accepted from the file.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Mapping

_TYPE_WORDS = {bool: "true or false", int: "a whole number", float: "a number", str: "a string"}


class ConfigError(ValueError):
    """A configuration that cannot be used; the message is one line naming the key."""


def build(cls: type, data: Mapping, *, where: str = "", section: str = ""):
    """An instance of dataclass `cls` from `data`; defaults fill what `data` leaves out.

    `where` (a file name) prefixes every message; `section` is the dotted name of `data`
    inside the whole file, for messages.
    """
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls) if f.metadata.get("toml", True)}
    unknown = sorted(set(data) - names)
    if unknown:
        label = f"[{section}]" if section else "top level"
        _fail(where, f"unknown key {unknown[0]!r} in {label} (known: {', '.join(sorted(names))})")
    kwargs = {}
    for name in names & set(data):
        key = f"{section}.{name}" if section else name
        kwargs[name] = _coerce(hints[name], data[name], where, key)
    return cls(**kwargs)


def _coerce(hint, value, where: str, key: str):
    if dataclasses.is_dataclass(hint):
        if not isinstance(value, Mapping):
            _fail(where, f"[{key}] must be a table, got {describe_value(value)}")
        return build(typing.cast(type, hint), value, where=where, section=key)
    origin = typing.get_origin(hint)
    if origin is list:
        (item_type,) = typing.get_args(hint)
        if not isinstance(value, list):
            _fail(where, f"{key} must be a list, got {describe_value(value)}")
        return [_coerce(item_type, v, where, f"{key}[{i}]") for i, v in enumerate(value)]
    if origin in (typing.Union, types.UnionType):
        raise TypeError(f"unsupported config type for {key}: {hint}")
    ok = {
        bool: isinstance(value, bool),
        int: isinstance(value, int) and not isinstance(value, bool),
        float: isinstance(value, int | float) and not isinstance(value, bool),
        str: isinstance(value, str),
    }[hint]
    if not ok:
        _fail(where, f"{key} must be {_TYPE_WORDS[hint]}, got {describe_value(value)}")
    return float(value) if hint is float else value


def bound_problem(key: str, value: float, low: float, *, above: bool = False) -> str:
    """What is wrong with a number that must be finite and at least `low` (more than `low`
    with `above`), in one line; "" when nothing is. TOML has inf and nan, and a plain
    comparison lets inf through (`inf >= 0`): a cooldown of inf passed, then overflowed on
    a user's second request."""
    if not math.isfinite(value):
        return f"{key} must be a finite number, got {value}"
    if value <= low if above else value < low:
        return f"{key} must be {'more than' if above else 'at least'} {low:g}, got {value:g}"
    return ""


def describe_value(value) -> str:
    """A value as messages show it: its type and a short repr (`str '1'`, `NoneType None`)."""
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 40 else text[:37] + '...'}"


def _fail(where: str, message: str) -> typing.NoReturn:
    raise ConfigError(f"{where}: {message}" if where else message)
